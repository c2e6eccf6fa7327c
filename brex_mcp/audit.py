"""Append-only audit of every write attempt, one JSON line each, so a person can see what an agent did."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["success", "failed", "unknown", "declined", "refused", "dry_run", "no_op"]
MAX_ARGUMENT_CHARS = 4000


class AuditLog:
    """Opened at start-up so a server that cannot record writes never starts; writes are serialized."""

    def __init__(self, path: Path, account_id: str = "") -> None:
        self.path = path
        self._account = account_id
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def bound_to(self, account_id: str) -> AuditLog:
        """The same file, recording for another integrated account (hosted mode serves many)."""
        view = object.__new__(AuditLog)
        view.path, view._account, view._lock, view._file = self.path, account_id, self._lock, self._file
        return view

    def record(
        self,
        tool: str,
        arguments: dict[str, Any],
        outcome: Outcome,
        *,
        idempotency_key: str | None = None,
        http_status: int | None = None,
        brex_trace_id: str | None = None,
        detail: str | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tool": tool,
            "account": self._account,
            "arguments": _bounded(arguments),
            "idempotency_key": idempotency_key,
            "outcome": outcome,
            "http_status": http_status,
            "brex_trace_id": brex_trace_id,
        }
        if detail:
            entry["detail"] = detail[:500]
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        return entry

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _bounded(arguments: dict[str, Any]) -> Any:
    text = json.dumps(arguments, ensure_ascii=False, default=str)
    if len(text) <= MAX_ARGUMENT_CHARS:
        return arguments
    return {"truncated": True, "json_prefix": text[:MAX_ARGUMENT_CHARS]}
