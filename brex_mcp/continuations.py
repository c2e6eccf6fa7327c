"""Server-side state for calls that resume: a short random token instead of a huge cursor.

A spend summary that runs out of time keeps its running totals here and hands the model a short cursor.
Entries expire (and the oldest are dropped past a cap), so an old cursor is refused with a clear message
rather than silently restarting.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Continuations:
    ttl_seconds: float = 1800.0
    max_entries: int = 64
    clock: Callable[[], float] = time.monotonic
    _items: OrderedDict[str, tuple[float, Any]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, value: Any) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._expire()
            self._items[token] = (self.clock(), value)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return token

    def get(self, token: str) -> Any | None:
        """The stored value, or None when the token is unknown or expired. Entries stay for retries."""
        with self._lock:
            self._expire()
            item = self._items.get(token)
        return item[1] if item else None

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, (stamp, _v) in self._items.items() if now - stamp >= self.ttl_seconds]:
            del self._items[token]
