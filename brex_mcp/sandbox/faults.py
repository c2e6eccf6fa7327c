"""Fault injection: make the next N matching requests fail, stall or drop the connection.

Clients must survive rate limits, resets and slow answers; tests arm a fault here and count the
retries through ``Sandbox.requests``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "reset", "delay"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "reset", "delay")


@dataclass
class Fault:
    """One armed fault; ``remaining`` is None for a fault that never runs out."""

    path_prefix: str
    kind: FaultKind
    remaining: int | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    body: bytes | None = None
    seconds: float = 0.0
    remote: bool = False
    """For ``status`` faults: answer as a Brex error relayed by Truto (remote flag, trace id)."""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method.upper()) and path.startswith(self.path_prefix)


class FaultInjector:
    """Thread-safe list of armed faults, consumed first-added-first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        path_prefix: str,
        status: int | None = None,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        body: bytes | str | None = None,
        kind: FaultKind | None = None,
        seconds: float = 0.0,
        remote: bool = False,
    ) -> Fault:
        """Arm a fault for the next ``times`` requests whose path starts with ``path_prefix``.

        ``kind`` defaults to ``"status"`` (needs ``status``); ``"reset"`` closes the connection
        without an answer; ``"delay"`` sleeps ``seconds`` and then answers normally.
        ``times=None`` keeps the fault armed until ``clear()``.
        """
        if kind is None and status is None:
            raise ValueError("give a status, or kind='reset' / kind='delay'")
        resolved: FaultKind = kind or "status"
        if resolved not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {kind!r}")
        if resolved == "status" and (status is None or not 100 <= status <= 599):
            raise ValueError("a status fault needs an HTTP status between 100 and 599")
        if resolved == "delay" and seconds <= 0:
            raise ValueError("a delay fault needs seconds > 0")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for unlimited)")
        if not path_prefix.startswith("/"):
            raise ValueError("path_prefix must start with '/'")
        fault = Fault(
            path_prefix=path_prefix,
            kind=resolved,
            remaining=times,
            status=status,
            headers=dict(headers or {}),
            method=method.upper() if method else None,
            body=body.encode("utf-8") if isinstance(body, str) else body,
            seconds=seconds,
            remote=remote,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults still armed (a snapshot)."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None
