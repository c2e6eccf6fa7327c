"""The fault matrix: every sandbox fault against every tool, through the in-memory MCP client.

Each cell starts a fresh sandbox, arms one fault on the request that matters for the tool (the lock
POST for writes, the list or get for reads), calls the tool once and judges the outcome:

- no crash (the call returns a result), bounded time (``CELL_SECONDS``);
- the expected outcome: success identical to a fault-free run (lists: same rows and cursor; writes:
  the card locked), or an ``isError`` whose JSON names the cause and whose text says what to do;
- never a silent partial result (a list either matches the fault-free run or says has_more with a cursor);
- never a duplicate write (all lock requests of one call carry one Idempotency-Key, and the card is
  locked once).

Retry waits (backoff, Retry-After, the limiter's pause after a 429) are recorded instead of slept, so
the matrix runs in seconds; the waits asked for are checked against Retry-After. Read timeouts are real
(0.3 s). ``python -m tests.fault_matrix`` prints the table.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client

from brex_mcp.config import RetryPolicy
from brex_mcp.ratelimit import TokenBucket
from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from brex_mcp.truto import TrutoClient
from tests.conftest import settings_for

CELL_SECONDS = 10.0
READ_TIMEOUT = 0.3
MATRIX_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_total_seconds=5)

USER_ID = "cuuser_rpbubggg006bdwgqbm3m"  # seed 7's first user
CARD_ID = "ncard_hq5njmv8xrexj9dxs2dhpp"  # seed 7's first ACTIVE card
LOCK_PATH = f"/custom/v2/cards/{CARD_ID}/lock"


@dataclass(frozen=True)
class Column:
    name: str
    tool: str
    args: dict[str, Any]
    target: str  # path prefix of the request the fault hits
    method: str
    writes: bool = False
    lists: bool = False  # the tool pages through a list (empty_page / repeat_cursor apply)


COLUMNS = [
    Column(
        "list_users",
        "list_users",
        {"status": "invited", "limit": 30},  # a filtered scan: three upstream pages with cursors
        "/unified/user-directory/users",
        "GET",
        lists=True,
    ),
    Column("get_user", "get_user", {"user_id": USER_ID}, f"/unified/user-directory/users/{USER_ID}", "GET"),
    Column("freeze_card", "freeze_card", {"card_id": CARD_ID, "reason": "CARD_LOST"}, LOCK_PATH, "POST", writes=True),
    Column(
        "list_transactions",
        "list_transactions",
        {"posted_at_start": "2026-09-01", "posted_at_end": "2026-09-01", "limit": 200},  # three 500-row pages
        "/custom/v2/transactions/card/primary",
        "GET",
        lists=True,
    ),
    Column(
        "proxy GET",
        "proxy_request",
        {"method": "GET", "path": "/v2/cards", "query": {"limit": 5}},
        "/custom/v2/cards",
        "GET",
    ),
    Column(
        "proxy POST",
        "proxy_request",
        {"method": "POST", "path": f"/v2/cards/{CARD_ID}/lock", "body": {"reason": "CARD_LOST"}},
        LOCK_PATH,
        "POST",
        writes=True,
    ),
]


@dataclass(frozen=True)
class Fault:
    name: str
    kwargs: dict[str, Any]
    # What a single occurrence should lead to, and what a fault that never stops should lead to:
    # "ok", or the error kind; a callable decides per column.
    once: str | Callable[[Column], str]
    always: str | Callable[[Column], str] | None
    min_wait: float = 0.0  # a retry must wait at least this long (Retry-After)
    paging_only: bool = False  # fires only on list pages with a cursor / on list answers


def _network(column: Column) -> str:
    return "outcome_unknown" if column.writes else "network_error"


def _late(column: Column) -> str:
    # An answer that comes after the read timeout: normally every attempt gives up waiting, but when the
    # event loop is busy elsewhere the late answer can be read before the timeout is noticed. Both are right.
    return f"{_network(column)}|ok"


def _paging(outcome: str) -> Callable[[Column], str]:
    return lambda column: outcome if column.lists else "ok"


FAULTS = [
    Fault("429 Retry-After: 1 (seconds)", {"status": 429, "retry_after": 1}, "ok", "rate_limited", min_wait=1.0),
    Fault(
        "429 Retry-After: HTTP date +2s",
        {"status": 429, "retry_after": 2, "retry_after_format": "date"},
        "ok",
        "rate_limited",
        min_wait=1.0,  # an HTTP date has whole seconds: 2 s ahead reads as 1-2 s
    ),
    Fault("429 without Retry-After", {"status": 429}, "ok", "rate_limited"),
    Fault("500 from Truto", {"status": 500}, "ok", "upstream_unavailable"),
    Fault("502 from Truto", {"status": 502}, "ok", "upstream_unavailable"),
    Fault("503 from Brex (via Truto)", {"status": 503, "remote": True}, "ok", "upstream_unavailable"),
    Fault("503 from Truto (account blocked)", {"status": 503}, "account_blocked", "account_blocked"),
    Fault("504 from Truto", {"status": 504}, "ok", "upstream_unavailable"),
    Fault("slow answer (0.1 s)", {"kind": "delay", "seconds": 0.1}, "ok", "ok"),
    Fault("timeout (no answer)", {"kind": "timeout", "seconds": 5}, "ok", _network),
    Fault("late answer (served, then 0.5 s)", {"kind": "late", "seconds": 0.5}, "ok", _late),
    Fault("connection reset", {"kind": "reset"}, "ok", _network),
    Fault("malformed JSON (200)", {"kind": "malformed_json"}, "ok", "malformed_response"),
    Fault("HTML error page (502)", {"kind": "html"}, "ok", "upstream_unavailable"),
    Fault("truncated body (200)", {"kind": "truncated"}, "ok", _network),
    Fault("empty page with a cursor", {"kind": "empty_page"}, "ok", "ok", paging_only=True),
    Fault("cursor that repeats", {"kind": "repeat_cursor"}, _paging("pagination_error"), None, paging_only=True),
    Fault("401 from Brex (needs re-auth)", {"status": 401, "remote": True}, "authentication_failed", None),
    Fault(
        "403 missing scopes",
        {"status": 403, "remote": True, "missing_scopes": ["cards.write", "users.readonly"]},
        "permission_denied",
        None,
    ),
]

# What the error text must tell the user to do, per error kind.
HINTS = {
    "rate_limited": "retry_after_seconds",
    "upstream_unavailable": "try again shortly",
    "account_blocked": "contact Truto support",
    "network_error": "check connectivity",
    "outcome_unknown": "Read the object's state before trying again",
    "malformed_response": "try again shortly",
    "pagination_error": "retry from the first page",
    "authentication_failed": "reconnect Brex in Truto",
    "permission_denied": "missing scopes: cards.write, users.readonly",
}


@dataclass
class Cell:
    fault: str
    column: str
    persistent: bool
    expected: str
    outcome: str = ""
    seconds: float = 0.0
    requests: int = 0
    fired: int = 0
    waits: list[float] = field(default_factory=list)
    lock_keys: int = 0
    baseline_requests: int = 0
    passthrough: bool = False
    partial: bool = False
    locked: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.problems:
            return "FAIL: " + "; ".join(self.problems)
        if self.outcome == "ok":
            if self.fired == 0:
                return "ok (fault n/a)"
            retries = self.requests - self.baseline_requests
            if self.passthrough:
                return "ok, passed through with its cursor"
            if self.partial:
                return "ok, partial: has_more + cursor (page cap)"
            return f"ok, +{retries} request{'s' if retries > 1 else ''}" if retries > 0 else "ok"
        return f"isError {self.outcome}"


def _expected(rule: str | Callable[[Column], str], column: Column) -> str:
    return rule(column) if callable(rule) else rule


class Upstream:
    """Stands in for the server's Truto client and forwards to the current cell's: one MCP session serves a
    whole column while every cell gets a fresh sandbox, Truto client and limiter."""

    current: TrutoClient

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)


class Session:
    """One in-memory MCP session for a column."""

    def __init__(self) -> None:
        self.upstream = Upstream()
        self.client: Client | None = None

    async def call(self, sb: Sandbox, column: Column, waits: list[float]) -> Any:
        async def record(seconds: float) -> None:
            waits.append(seconds)
            await anyio.sleep(0)

        settings = settings_for(sb, retry=MATRIX_RETRY, read_timeout=READ_TIMEOUT)
        limiter = TokenBucket(settings.rate_limit_requests, settings.rate_limit_seconds, sleep=record)
        self.upstream.current = TrutoClient(settings, sleep=record, limiter=limiter)
        try:
            assert self.client is not None
            return await self.client.call_tool(column.tool, column.args)
        finally:
            await self.upstream.current.aclose()

    async def __aenter__(self) -> Session:
        with Sandbox(seed=7) as sb:  # only for valid settings; tools reach upstream through self.upstream
            settings = settings_for(sb, retry=MATRIX_RETRY, read_timeout=READ_TIMEOUT)
        self.client = Client(build_server(settings, client=self.upstream))  # type: ignore[arg-type]
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.__aexit__(*exc)


def _data(result: Any) -> Any:
    data = result.structured_content
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ("idempotency_key", "brex_trace_id")}
        if isinstance(data.get("data"), dict):  # proxy: Brex's card, without per-answer ids
            data["data"] = {k: v for k, v in data["data"].items() if k != "brex_trace_id"}
    return data


async def baseline(session: Session, column: Column) -> tuple[Any, int]:
    """The fault-free result of a column and how many requests it took."""
    with Sandbox(seed=7) as sb:
        result = await session.call(sb, column, [])
        assert not result.is_error, result.content
        return _data(result), len(sb.requests)


async def run_cell(
    session: Session, fault: Fault, column: Column, *, persistent: bool, expected: tuple[Any, int]
) -> Cell:
    rule = fault.always if persistent else fault.once
    assert rule is not None
    cell = Cell(fault.name, column.name, persistent, _expected(rule, column))
    expected_data, cell.baseline_requests = expected
    with Sandbox(seed=7) as sb:
        assert sb.data.cards  # seed now, so the first request's time is the fault's, not the seeding's
        armed = sb.faults.add(column.target, times=None if persistent else 1, method=column.method, **fault.kwargs)
        started = time.monotonic()
        try:
            with anyio.fail_after(CELL_SECONDS):
                result = await session.call(sb, column, cell.waits)
        except Exception as exc:  # a crash or a hang is the failure this matrix exists to catch
            cell.problems.append(f"{type(exc).__name__}: {exc}"[:200])
            return cell
        finally:
            cell.seconds = time.monotonic() - started
        cell.requests = len(sb.requests)
        cell.fired = armed.fired
        locks = [r for r in sb.requests if r.method == "POST" and r.path == LOCK_PATH]
        cell.lock_keys = len({r.headers.get("idempotency-key") for r in locks})
        card = next(c for c in sb.data.cards if c["id"] == CARD_ID)
        cell.locked = card["status"] == "LOCKED"
    _judge(cell, fault, column, result, expected_data)
    return cell


def _judge(cell: Cell, fault: Fault, column: Column, result: Any, expected_data: Any) -> None:
    text = "".join(getattr(block, "text", "") for block in result.content)
    if result.is_error:
        try:
            details = json.loads(text[text.rindex(" {") + 1 :])
            cell.outcome = details["error"]
        except (ValueError, KeyError):
            cell.outcome = "tool_error"
            cell.problems.append(f"error without details: {text[:120]}")
        hint = HINTS.get(cell.outcome)
        if hint and hint not in text:
            cell.problems.append(f"error text lacks {hint!r}")
    else:
        cell.outcome = "ok"
        data = _data(result)
        partial = isinstance(data, dict) and data.get("has_more") and data.get("next_cursor")
        if fault.paging_only and column.tool == "proxy_request" and data != expected_data:
            # The proxy returns Brex's page as it came: the cursor is there for the caller to follow.
            cell.passthrough = True
            if not data["data"].get("next_cursor"):
                cell.problems.append("proxy returned a page without its cursor")
        elif data != expected_data:
            if fault.paging_only and cell.persistent and partial:
                cell.partial = True  # endless empty pages: stops at the page cap and says where to resume
            else:
                cell.problems.append("success differs from the fault-free result")
    if cell.outcome not in cell.expected.split("|"):
        cell.problems.append(f"expected {cell.expected}, got {cell.outcome}")
    if cell.lock_keys > 1:
        cell.problems.append(f"{cell.lock_keys} Idempotency-Keys for one freeze")
    if column.writes and cell.outcome == "ok" and not cell.locked:
        cell.problems.append("success but the card is not locked")
    if not column.writes and cell.locked:
        cell.problems.append("a read locked the card")
    if cell.seconds > CELL_SECONDS:
        cell.problems.append(f"took {cell.seconds:.1f}s")
    if fault.min_wait and cell.fired and cell.outcome == "ok" and max(cell.waits, default=0) < fault.min_wait:
        cell.problems.append(f"retried after {max(cell.waits, default=0):.2f}s, before Retry-After")
    if not fault.paging_only and cell.fired == 0:
        cell.problems.append("the fault never fired")


def scenarios() -> list[tuple[Fault, bool]]:
    out = []
    for fault in FAULTS:
        out.append((fault, False))
        if fault.always is not None:
            out.append((fault, True))
    return out


async def run_column(column: Column, faults: list[tuple[Fault, bool]] | None = None) -> list[Cell]:
    async with Session() as session:
        expected = await baseline(session, column)
        return [await run_cell(session, f, column, persistent=p, expected=expected) for f, p in faults or scenarios()]


async def run_matrix() -> list[Cell]:
    """Columns run side by side (each its own session and sandboxes); cells of a column one after another."""
    results: dict[str, list[Cell]] = {}

    async def one(column: Column) -> None:
        results[column.name] = await run_column(column)

    async with anyio.create_task_group() as tg:
        for column in COLUMNS:
            tg.start_soon(one, column)
    return [cell for column in COLUMNS for cell in results[column.name]]


def table(cells: list[Cell]) -> str:
    rows: dict[str, dict[str, str]] = {}
    for cell in cells:
        row = f"{cell.fault} ({'always' if cell.persistent else 'once'})"
        rows.setdefault(row, {})[cell.column] = cell.label
    names = [c.name for c in COLUMNS]
    lines = ["| fault | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for row, by_column in rows.items():
        lines.append(f"| {row} | " + " | ".join(by_column.get(n, "") for n in names) + " |")
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    cells = anyio.run(run_matrix)
    print(table(cells))
    failed = [c for c in cells if c.problems]
    print(
        f"\n{len(cells)} cells, {len(failed)} failed, {time.monotonic() - started:.1f}s; "
        f"slowest cell {max(c.seconds for c in cells):.2f}s (bound {CELL_SECONDS:.0f}s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
