"""Spend analytics computed here, not by the model: every page scanned, one running total per group and currency.

Brex has no aggregate endpoint and no end-date filter, so the tool pages through settled card
transactions from the start date, keeps only integer sums and counts per (group, currency) — memory
grows with the number of groups, never with the number of transactions — and never adds amounts of
different currencies. When the time budget runs out it returns the totals so far, marked partial, and a
cursor; calling again with it continues the same scan and returns the running totals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..directory import AmbiguousName
from ..errors import PaginationError
from ..money import Money, money
from ..output import Output
from ..pagination import Position, parse_page
from ..shaping import respond, size_of
from ..text import clean
from .inputs import ID_PATTERN, DateBound
from .registry import READ, ToolSpec, app_state, tool_errors

PAGE_SIZE = 1000  # Brex's largest page: the fewer round trips, the more of the window fits in the time budget
MAX_PAGES = 100_000  # a guard against an upstream that never ends; the time budget normally stops first
MONTHS_SHOWN = 60

GroupBy = Literal["merchant", "user", "department", "card", "month", "currency"]
TransactionType = Literal["PURCHASE", "REFUND", "CHARGEBACK", "REWARDS_CREDIT", "COLLECTION", "BNPL_FEE"]
SPEND_TYPES: tuple[TransactionType, ...] = ("PURCHASE", "REFUND", "CHARGEBACK")
NONE_KEYS = {
    "merchant": "(no merchant)",
    "user": "(no card owner)",
    "department": "(no department)",
    "card": "(no card)",
}
SummaryCursor = Annotated[
    str | None,
    Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="next_cursor from a partial spend_summary; pass the same other arguments",
    ),
]


class GroupTotal(Output):
    key: str = Field(description="The group: merchant descriptor, user/card/department id, YYYY-MM, or currency")
    name: str | None = Field(default=None, description="Name for an id key (person, department, card)")
    total: Money = Field(description="Net amount: purchases minus refunds, integer minor units")
    count: int


class OtherGroups(Output):
    groups: int = Field(description="Groups not listed because of top_n")
    total: Money
    count: int


class CurrencyTotals(Output):
    currency: str
    total: Money
    count: int
    groups: list[GroupTotal] | None = Field(
        default=None, description="Largest groups first (months in date order); absent for group_by=currency"
    )
    other_groups: OtherGroups | None = None


class Coverage(Output):
    transactions_scanned: int = Field(description="Rows read from Brex, including ones outside the window or types")
    transactions_counted: int = Field(description="Rows inside the window, types and filters, summed here")
    pages: int
    calls: int = Field(description="Tool calls this scan has taken, including resumed ones")
    complete: bool = Field(description="True when every page was read: the totals cover the whole window")


class SpendSummary(Output):
    posted_at_start: str = Field(description="First posted date counted (inclusive, UTC)")
    posted_at_end: str | None = Field(default=None, description="Last posted date counted (inclusive, UTC)")
    group_by: str
    transaction_types: list[str]
    currencies: list[CurrencyTotals] = Field(description="One entry per currency; amounts are never converted")
    coverage: Coverage
    partial: bool = Field(description="True when the time budget ended the scan; totals so far only")
    next_cursor: str | None = Field(default=None, description="Partial only: call again with cursor=next_cursor")
    groups_cut_to: int | None = Field(default=None, description="Present when top_n was lowered to fit the budget")
    message: str


@dataclass
class _Scan:
    """Everything a resumed call needs; its size depends on the number of groups, not transactions."""

    arguments: dict[str, Any]
    position: Position
    seen: set[str] = field(default_factory=set)
    sums: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # key -> currency -> [amount, count]
    scanned: int = 0
    counted: int = 0
    pages: int = 0
    calls: int = 0

    def snapshot(self) -> _Scan:
        return _Scan(
            arguments=self.arguments,
            position=self.position,
            seen=set(self.seen),
            sums={k: {c: list(v) for c, v in by.items()} for k, by in self.sums.items()},
            scanned=self.scanned,
            counted=self.counted,
            pages=self.pages,
            calls=self.calls,
        )


def _posted(row: dict[str, Any]) -> date | None:
    value = row.get("posted_at_date")
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


async def spend_summary(
    ctx: Context,
    posted_at_start: Annotated[DateBound, Field(description="First posted date to count (inclusive), UTC")],
    posted_at_end: Annotated[
        DateBound | None, Field(description="Last posted date to count (inclusive), UTC; default: no end")
    ] = None,
    group_by: Annotated[GroupBy, Field(description="How to group the totals")] = "merchant",
    top_n: Annotated[int, Field(ge=1, le=50, description="Groups listed per currency; the rest are summed")] = 10,
    department: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=200,
            description="Only cards of people in this department (name or id)",
        ),
    ] = None,
    user_ids: Annotated[
        list[Annotated[str, Field(pattern=ID_PATTERN)]] | None,
        Field(default=None, max_length=50, description="Only cards of these Brex user ids"),
    ] = None,
    transaction_types: Annotated[
        list[TransactionType] | None,
        Field(default=None, max_length=6, description="Types to count; default PURCHASE, REFUND, CHARGEBACK"),
    ] = None,
    cursor: SummaryCursor = None,
) -> Annotated[CallToolResult, SpendSummary]:
    start_day, end_day = posted_at_start, posted_at_end
    if end_day is not None and start_day > end_day:
        raise ToolError(f"posted_at_start ({start_day}) is after posted_at_end ({end_day}); nothing can match.")
    types = tuple(sorted(set(transaction_types or SPEND_TYPES)))
    arguments = {
        "start": start_day.isoformat(),
        "end": end_day.isoformat() if end_day else None,
        "group_by": group_by,
        "department": department,
        "user_ids": sorted(user_ids or []),
        "types": types,
    }
    state = app_state(ctx)
    began = time.monotonic()
    stop_at = began + state.settings.time_budget_seconds
    if cursor is not None:
        stored = state.continuations.get(cursor)
        if stored is None:
            raise ToolError(
                "This spend_summary cursor is unknown or expired (they last 30 minutes in this server process); "
                "start again without a cursor."
            )
        if stored.arguments != arguments:
            raise ToolError("The cursor belongs to a spend_summary with other arguments; pass the same arguments.")
        run: _Scan = stored.snapshot()
    else:
        run = _Scan(arguments=arguments, position=Position(page_size=PAGE_SIZE))
    run.calls += 1

    with tool_errors():
        cards, people, departments = await _lookups(state, group_by, department is not None)
        department_id = await _department_id(state, department) if department is not None else None
        wanted_users = set(user_ids or [])

        def key_of(row: dict[str, Any]) -> str | None:
            """The group key, or None when the row is filtered out by department."""
            card_id = row.get("card_id") if isinstance(row.get("card_id"), str) else None
            owner = (cards.get(card_id) or {}).get("owner_user_id") if card_id else None
            if department_id is not None:
                person = people.get(owner or "")
                if person is None or person.department_id != department_id:
                    return None
            if group_by == "merchant":
                merchant = row.get("merchant") if isinstance(row.get("merchant"), dict) else {}
                descriptor = merchant.get("raw_descriptor")
                return clean(descriptor) if isinstance(descriptor, str) and descriptor else NONE_KEYS["merchant"]
            if group_by == "user":
                return owner or NONE_KEYS["user"]
            if group_by == "department":
                person = people.get(owner or "")
                return (person.department_id if person else None) or NONE_KEYS["department"]
            if group_by == "card":
                return card_id or NONE_KEYS["card"]
            if group_by == "month":
                return str(row.get("posted_at_date"))[:7]
            return str((row.get("amount") or {}).get("currency") or "USD").upper()

        while True:
            params: dict[str, Any] = {
                "limit": PAGE_SIZE,
                "posted_at_start": f"{start_day.isoformat()}T00:00:00Z",
                "user_ids": sorted(wanted_users) or None,
            }
            if run.position.cursor is not None:
                params[run.position.param] = run.position.cursor
            response = await state.client.custom("GET", "/v2/transactions/card/primary", params=params)
            page = parse_page(response.data)
            run.pages += 1
            for row in page.items:
                run.scanned += 1
                if not isinstance(row, dict) or row.get("type") not in types:
                    continue
                posted = _posted(row)
                if posted is None or posted < start_day or (end_day is not None and posted > end_day):
                    continue
                amount = row.get("amount")
                if not isinstance(amount, dict) or not isinstance(amount.get("amount"), int):
                    continue
                key = key_of(row)
                if key is None:
                    continue
                currency = str(amount.get("currency") or "USD").upper()
                cell = run.sums.setdefault(key, {}).setdefault(currency, [0, 0])
                cell[0] += amount["amount"]
                cell[1] += 1
                run.counted += 1
            await ctx.report_progress(
                run.scanned, None, f"scanned {run.scanned} transactions on {run.pages} pages, {run.counted} counted"
            )
            if page.next_cursor is None:
                run.position = Position(page_size=PAGE_SIZE)
                return _answer(state, run, arguments, top_n, cards, people, departments, complete=True)
            if page.next_cursor in run.seen:
                raise PaginationError(f"The upstream returned cursor {page.next_cursor!r} twice")
            run.seen.add(page.next_cursor)
            run.position = Position(page.next_cursor, page.cursor_param, 0, PAGE_SIZE)
            if time.monotonic() >= stop_at or run.pages >= MAX_PAGES:
                return _answer(state, run, arguments, top_n, cards, people, departments, complete=False)


async def _lookups(state: Any, group_by: str, by_department: bool) -> tuple[dict[str, Any], dict[str, Any], dict]:
    """Card owners, people and department names: fetched once per call, and only when the grouping needs them."""
    cards: dict[str, Any] = {}
    people: dict[str, Any] = {}
    departments: dict[str, str] = {}
    if group_by in ("user", "department", "card") or by_department:
        cards = await _cards(state)
    if group_by in ("user", "department", "card") or by_department:
        people = await state.directory.people()
    if group_by == "department":
        departments = await state.directory.names("department")
    return cards, people, departments


async def _cards(state: Any) -> dict[str, Any]:
    cards: dict[str, Any] = {}
    position = Position(page_size=PAGE_SIZE)
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if position.cursor is not None:
            params[position.param] = position.cursor
        page = parse_page((await state.client.custom("GET", "/v2/cards", params=params)).data)
        for card in page.items:
            if isinstance(card, dict) and isinstance(card.get("id"), str):
                owner = card.get("owner") if isinstance(card.get("owner"), dict) else {}
                cards[card["id"]] = {
                    "owner_user_id": owner.get("user_id"),
                    "last_four": card.get("last_four"),
                    "card_name": card.get("card_name"),
                }
        if page.next_cursor is None:
            return cards
        position = Position(page.next_cursor, page.cursor_param, 0, PAGE_SIZE)
    raise PaginationError("The card list did not end")


async def _department_id(state: Any, department: str) -> str:
    names = await state.directory.names("department")
    if department in names:
        return department
    try:
        return await state.directory.id_for("department", department)
    except AmbiguousName as exc:
        raise ToolError(str(exc)) from None


def _answer(
    state: Any,
    run: _Scan,
    arguments: dict[str, Any],
    top_n: int,
    cards: dict[str, Any],
    people: dict[str, Any],
    departments: dict[str, str],
    *,
    complete: bool,
) -> CallToolResult:
    group_by = arguments["group_by"]
    next_cursor = None if complete else state.continuations.put(run.snapshot())

    def name(key: str) -> str | None:
        if key in NONE_KEYS.values():
            return None
        if group_by == "user":
            person = people.get(key)
            return person.name if person else None
        if group_by == "department":
            return departments.get(key)
        if group_by == "card":
            card = cards.get(key)
            if not card:
                return None
            owner = people.get(card.get("owner_user_id") or "")
            label = f"card ending {card.get('last_four')} ({clean(str(card.get('card_name') or ''))})"
            return f"{label} of {owner.name}" if owner else label
        return None

    by_currency: dict[str, list[tuple[str, int, int]]] = {}
    for key, cells in run.sums.items():
        for currency, (amount, count) in cells.items():
            by_currency.setdefault(currency, []).append((key, amount, count))

    def build(limit: int) -> dict[str, Any]:
        currencies = []
        for currency, rows in sorted(by_currency.items(), key=lambda item: (-sum(r[2] for r in item[1]), item[0])):
            total = sum(r[1] for r in rows)
            count = sum(r[2] for r in rows)
            entry = CurrencyTotals(currency=currency, total=money(total, currency), count=count)
            if group_by != "currency":
                if group_by == "month":
                    shown = sorted(rows)[-limit:]  # the latest months, in date order
                else:
                    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
                    shown = ordered[:limit]
                entry.groups = [GroupTotal(key=k, name=name(k), total=money(a, currency), count=c) for k, a, c in shown]
                rest = [r for r in rows if r not in shown]
                if rest:
                    entry.other_groups = OtherGroups(
                        groups=len(rest),
                        total=money(sum(r[1] for r in rest), currency),
                        count=sum(r[2] for r in rest),
                    )
            currencies.append(entry)
        summary = SpendSummary(
            posted_at_start=arguments["start"],
            posted_at_end=arguments["end"],
            group_by=group_by,
            transaction_types=list(arguments["types"]),
            currencies=currencies,
            coverage=Coverage(
                transactions_scanned=run.scanned,
                transactions_counted=run.counted,
                pages=run.pages,
                calls=run.calls,
                complete=complete,
            ),
            partial=not complete,
            next_cursor=next_cursor,
            groups_cut_to=limit if limit < top_n else None,
            message=_message(run, complete, len(currencies)),
        )
        return summary.model_dump(mode="json", exclude_none=True)

    limit = top_n if group_by != "month" else MONTHS_SHOWN
    data = build(limit)
    while size_of(data) > state.settings.max_result_bytes and limit > 1:
        limit = max(1, limit // 2)
        data = build(limit)
    return respond(data)


def _message(run: _Scan, complete: bool, currencies: int) -> str:
    text = f"{run.counted} transactions counted out of {run.scanned} scanned on {run.pages} pages"
    if currencies > 1:
        text += f"; {currencies} currencies, each totalled separately (never add them together)"
    if complete:
        return text + ". Complete: every page of the window was read."
    return (
        text + ". PARTIAL: the time budget ran out before the last page; these are running totals. Call again "
        "with cursor=next_cursor and the same arguments to continue."
    )


TOOLS = [
    ToolSpec(
        spend_summary,
        title="Summarise card spend",
        description=(
            "Totals of settled card spend between two posted dates (both inclusive, UTC; a datetime counts by "
            "its UTC date), grouped by merchant, user, department, card, month or currency, computed server-side "
            "over every page so you never add rows up yourself. Default types: PURCHASE, REFUND, CHARGEBACK "
            "(net spend: refunds subtract). Filter by department (name or id) or user_ids. Each currency is "
            "totalled separately (integer minor units plus display); never add amounts of different currencies. "
            "Per currency: total, count, the top_n largest groups (months: all, up to 60, in date order; top_n "
            "does not apply) and the rest summed "
            "in other_groups. coverage says how many transactions were scanned and whether the window is "
            "complete; if the time budget runs out the result is partial, with next_cursor: call again with "
            "the same arguments and cursor to continue the same totals."
        ),
        annotations=READ,
    ),
]
