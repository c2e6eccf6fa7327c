"""Idempotency keys for writes: a new key per request, the same key again after an unknown outcome."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

KEY_MEMORY_SECONDS = 24 * 3600


class KeyMemory:
    """Keys of writes whose outcome is unknown, so the same request sent again reuses its key."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, float]] = {}

    def key_for(self, fingerprint: str) -> tuple[str, bool]:
        now = time.monotonic()
        self._keys = {f: (k, t) for f, (k, t) in self._keys.items() if now - t < KEY_MEMORY_SECONDS}
        if fingerprint in self._keys:
            return self._keys[fingerprint][0], True
        return str(uuid.uuid4()), False

    def remember(self, fingerprint: str, key: str) -> None:
        self._keys[fingerprint] = (key, time.monotonic())

    def forget(self, fingerprint: str) -> None:
        self._keys.pop(fingerprint, None)


def fingerprint(method: str, path: str, params: Any, body: Any) -> str:
    canonical = json.dumps([method, path, params, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
