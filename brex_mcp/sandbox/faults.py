"""Fault injection: make the next N matching requests fail, stall, garble or drop the connection.

Clients must survive rate limits, resets, slow and broken answers and odd paging; tests arm a fault
here (``sandbox.faults.add(...)``) or give a spec string (``add_spec``, the CLI's ``--sandbox-faults``)
and count the retries through ``Sandbox.requests``.

Kinds:

``status``          answer with an HTTP error (``status``), as Truto's own error or, with ``remote``, as a Brex
                    error relayed by Truto; ``retry_after`` adds ``Retry-After`` in seconds, or as an HTTP date
                    with ``retry_after_format="date"``; ``missing_scopes`` adds Truto's 403 insight.
``reset``           drop the connection with a TCP reset, no answer.
``delay``           sleep ``seconds`` and then serve the request normally.
``late``            serve the request (a write is applied), then sleep ``seconds`` before answering.
``timeout``         answer nothing for ``seconds`` (default 30), then close; the request is not served.
``malformed_json``  200 with a JSON content type and a body that is not JSON.
``html``            an HTML error page from a proxy in front of Truto (``status``, default 502).
``truncated``       200 whose body stops halfway through its Content-Length, then the connection closes.
``empty_page``      a list page with no rows whose cursor leads to the rows that page should have held.
``repeat_cursor``   a list page whose next_cursor is the cursor the request sent (only requests with a cursor
                    match).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "status",
    "reset",
    "delay",
    "late",
    "timeout",
    "malformed_json",
    "html",
    "truncated",
    "empty_page",
    "repeat_cursor",
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "status",
    "reset",
    "delay",
    "late",
    "timeout",
    "malformed_json",
    "html",
    "truncated",
    "empty_page",
    "repeat_cursor",
)
CURSOR_PARAMS = ("cursor", "next_cursor")


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
    retry_after: float | None = None
    retry_after_format: Literal["seconds", "date"] = "seconds"
    missing_scopes: tuple[str, ...] = ()
    fired: int = 0
    """How many requests this fault has answered."""

    def matches(self, method: str, path: str, query: Mapping[str, list[str]] | None = None) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        if not path.startswith(self.path_prefix):
            return False
        if self.kind == "repeat_cursor":
            return any((query or {}).get(name, [""])[0] for name in CURSOR_PARAMS)
        return True


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
        retry_after: float | None = None,
        retry_after_format: Literal["seconds", "date"] = "seconds",
        missing_scopes: tuple[str, ...] | list[str] = (),
    ) -> Fault:
        """Arm a fault for the next ``times`` requests whose path starts with ``path_prefix``.

        ``kind`` defaults to ``"status"`` (needs ``status``); the other kinds are listed in the module
        docstring. ``times=None`` keeps the fault armed until ``clear()``.
        """
        if kind is None and status is None:
            raise ValueError(f"give a status, or a kind: one of {FAULT_KINDS}")
        resolved: FaultKind = kind or "status"
        if resolved not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {kind!r}")
        if resolved == "html" and status is None:
            status = 502
        if resolved == "timeout" and seconds <= 0:
            seconds = 30.0
        if resolved in ("status", "html") and (status is None or not 100 <= status <= 599):
            raise ValueError(f"a {resolved} fault needs an HTTP status between 100 and 599")
        if resolved in ("delay", "late") and seconds <= 0:
            raise ValueError(f"a {resolved} fault needs seconds > 0")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must be >= 0 seconds")
        if retry_after_format not in ("seconds", "date"):
            raise ValueError("retry_after_format must be 'seconds' or 'date'")
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
            retry_after=retry_after,
            retry_after_format=retry_after_format,
            missing_scopes=tuple(missing_scopes),
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

    def add_spec(self, spec: str) -> list[Fault]:
        """Arm every fault of a spec string (see ``parse_spec``)."""
        return [self.add(**kwargs) for kwargs in parse_spec(spec)]

    def take(self, method: str, path: str, query: Mapping[str, list[str]] | None = None) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, query):
                    fault.fired += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


SPEC_HELP = """\
Faults separated by ';', each KIND[,key=value...]. KIND is an HTTP status (429, 500, 502, 503, 504, 401, 403, ...)
or one of reset, delay, late, timeout, malformed_json, html, truncated, empty_page, repeat_cursor.
Keys: path=/prefix (default /), method=GET|POST|..., times=N|always (default 1), seconds=S (delay, late,
timeout), retry_after=S (Retry-After in seconds), retry_after_date=S (Retry-After as an HTTP date S seconds
ahead), remote=1 (a Brex error relayed by Truto), scopes=a+b (403 missing scopes), status=N (html).
Example: '429,retry_after=2,times=3;reset,path=/custom/v2/cards,method=POST;empty_page,path=/unified'"""


def parse_spec(spec: str) -> list[dict[str, object]]:
    """Parse a fault spec string into keyword arguments for ``FaultInjector.add``; ValueError says what is wrong."""
    faults: list[dict[str, object]] = []
    for raw in spec.split(";"):
        part = raw.strip()
        if not part:
            continue
        head, *options = (p.strip() for p in part.split(","))
        kwargs: dict[str, object] = {"path_prefix": "/"}
        if head.isdigit():
            kwargs["status"] = int(head)
        elif head in FAULT_KINDS and head != "status":
            kwargs["kind"] = head
        else:
            raise ValueError(f"fault {part!r}: {head!r} is neither an HTTP status nor one of {FAULT_KINDS[1:]}")
        for option in options:
            key, eq, value = option.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not value:
                raise ValueError(f"fault {part!r}: option {option!r} must be key=value")
            try:
                if key == "path":
                    kwargs["path_prefix"] = value
                elif key == "method":
                    kwargs["method"] = value.upper()
                elif key == "times":
                    kwargs["times"] = None if value == "always" else int(value)
                elif key == "seconds":
                    kwargs["seconds"] = float(value)
                elif key == "retry_after":
                    kwargs["retry_after"] = float(value)
                elif key == "retry_after_date":
                    kwargs["retry_after"] = float(value)
                    kwargs["retry_after_format"] = "date"
                elif key == "remote":
                    kwargs["remote"] = value.lower() in ("1", "true", "yes")
                elif key == "scopes":
                    kwargs["missing_scopes"] = tuple(s for s in value.split("+") if s)
                elif key == "status":
                    kwargs["status"] = int(value)
                else:
                    raise ValueError(f"fault {part!r}: unknown option {key!r}")
            except ValueError as exc:
                if str(exc).startswith("fault "):
                    raise
                raise ValueError(f"fault {part!r}: {key}={value!r} is not a valid value") from None
        faults.append(kwargs)
    if not faults:
        raise ValueError("the fault spec is empty")
    # Validate now, so a bad spec fails before anything starts.
    probe = FaultInjector()
    for kwargs in faults:
        probe.add(**kwargs)  # type: ignore[arg-type]
    return faults
