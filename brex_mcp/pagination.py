"""Cursor paging over both list shapes, with resumable positions for filtered scans.

A list arrives either as Truto's envelope (`result` is a list, top-level `next_cursor`, next page
asked with `next_cursor=`) or as Brex's own page (`{items, next_cursor}`, bare or inside `result`,
next page asked with `cursor=`). Tools that filter rows locally may stop in the middle of an
upstream page, so the cursor they hand back names the upstream page *and* how many of its rows
were already consumed: nothing is skipped and nothing is returned twice.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import MalformedResponse, PaginationError

CursorParam = Literal["cursor", "next_cursor"]
MAX_PAGE_SIZE = 1000  # Brex's limit for one page


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    cursor_param: CursorParam


def parse_page(body: Any) -> Page:
    """Read either list shape; anything else is an upstream fault, never an empty list."""
    if isinstance(body, dict) and isinstance(body.get("result"), list):
        return Page(body["result"], _cursor(body.get("next_cursor")), "next_cursor")
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        body = body["result"]
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return Page(body["items"], _cursor(body.get("next_cursor")), "cursor")
    if isinstance(body, list):
        return Page(body, None, "cursor")
    raise MalformedResponse("The upstream answered a list request with neither a Truto nor a Brex page")


def _cursor(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedResponse(f"The upstream sent a next_cursor of type {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Position:
    """Where a scan resumes: an upstream page (None = first), its cursor parameter, rows already used."""

    cursor: str | None = None
    param: CursorParam = "cursor"
    offset: int = 0
    page_size: int = 0

    def encode(self, tool: str) -> str:
        """An opaque token naming the tool it belongs to, so another tool cannot restart from page one."""
        raw = json.dumps(
            {"t": tool, "c": self.cursor, "p": self.param, "o": self.offset, "l": self.page_size},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, tool: str) -> Position:
        """Raise ValueError with a plain message when the token was not made by encode() for this tool."""
        invalid = "cursor is not valid: pass next_cursor exactly as a previous call of this tool returned it"
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            owner = data["t"]
            position = cls(cursor=data["c"], param=data["p"], offset=data["o"], page_size=data["l"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            raise ValueError(invalid) from None
        if owner != tool:
            raise ValueError(f"this cursor was made by {owner}, not {tool}; pass each tool its own next_cursor")
        if not (
            (position.cursor is None or isinstance(position.cursor, str))
            and position.param in ("cursor", "next_cursor")
            and isinstance(position.offset, int)
            and 0 <= position.offset <= MAX_PAGE_SIZE
            and isinstance(position.page_size, int)
            and 1 <= position.page_size <= MAX_PAGE_SIZE
        ):
            raise ValueError(invalid)
        return position


FetchPage = Callable[[Position], Awaitable[Page]]


@dataclass
class ScanResult:
    rows: list[Any]
    next: Position | None
    pages: int
    # Where to resume after each row: lets a caller keep fewer rows (to fit a byte budget) and still
    # hand back a cursor that skips nothing.
    after: list[Position | None] = field(default_factory=list)
    stopped_early: bool = False  # the time budget ended the scan, not `want` or the upstream's end

    @property
    def has_more(self) -> bool:
        return self.next is not None

    def next_after(self, kept: int, start: Position) -> Position | None:
        """The resume position when only the first `kept` rows are returned."""
        if kept >= len(self.rows):
            return self.next
        return self.after[kept - 1] if kept > 0 else start


OnPage = Callable[[int, int], Awaitable[None]]


async def scan(
    fetch: FetchPage,
    *,
    start: Position,
    want: int,
    accept: Callable[[Any], bool] = lambda _row: True,
    max_pages: int,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_page: OnPage | None = None,
) -> ScanResult:
    """Collect up to `want` accepted rows from `start`, reading at most `max_pages` upstream pages.

    An empty page that still has a cursor is not the end. A cursor that comes back again is an
    error rather than a loop. Stopping at the page cap or at `deadline` (checked after each page,
    so every call makes progress) is not an error: the result says there is more and where to resume.
    `on_page(pages, rows)` is awaited after each page, for progress notifications.
    """
    rows: list[Any] = []
    after: list[Position | None] = []
    position = start
    seen: set[str] = set() if start.cursor is None else {start.cursor}
    pages = 0
    while True:
        page = await fetch(position)
        pages += 1
        items = page.items
        if position.offset > len(items):
            raise PaginationError("The upstream page is shorter than the cursor expects; restart from the first page")
        following = _following(page, position)
        for index in range(position.offset, len(items)):
            if not accept(items[index]):
                continue
            rows.append(items[index])
            after.append(_at(position, index + 1) if index + 1 < len(items) else following)
            if len(rows) == want:
                return ScanResult(rows, after[-1], pages, after)
        if on_page is not None:
            await on_page(pages, len(rows))
        if following is None:
            return ScanResult(rows, None, pages, after)
        if following.cursor in seen:
            raise PaginationError(f"The upstream returned cursor {following.cursor!r} twice")
        seen.add(following.cursor)  # type: ignore[arg-type]
        position = following
        if pages >= max_pages:
            return ScanResult(rows, position, pages, after)
        if deadline is not None and clock() >= deadline:
            return ScanResult(rows, position, pages, after, stopped_early=True)


def _at(position: Position, offset: int) -> Position:
    return Position(position.cursor, position.param, offset, position.page_size)


def _following(page: Page, position: Position) -> Position | None:
    if page.next_cursor is None:
        return None
    return Position(page.next_cursor, page.cursor_param, 0, position.page_size)
