"""Settled card transactions, with the end-date filter Brex lacks applied here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..models import Transaction, transaction_json_from_brex
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..shaping import Truncated, deadline, fields_or_default, page_progress, page_result
from .inputs import ID_PATTERN, Cursor, DateBound, start_position
from .registry import READ, ToolSpec, app_state, tool_errors

FILTERED_PAGE = 500  # an end-date filter may skip many rows: read big pages
TransactionField = Literal[
    "posted_date", "initiated_date", "type", "description", "amount", "card_id", "merchant", "mcc", "merchant_country"
]
DEFAULT_TRANSACTION_FIELDS: tuple[TransactionField, ...] = (
    "posted_date",
    "type",
    "description",
    "amount",
    "card_id",
    "merchant",
)


class TransactionPage(Output):
    transactions: list[Transaction]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page; absent when done")
    has_more: bool
    truncated: Truncated | None = None


def _posted(row: Any) -> date | None:
    value = row.get("posted_at_date") if isinstance(row, dict) else None
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


async def list_transactions(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=200, description="Transactions to return, 1-200")] = 50,
    cursor: Cursor = None,
    user_ids: Annotated[
        list[Annotated[str, Field(pattern=ID_PATTERN)]] | None,
        Field(max_length=50, description="Only transactions on cards of these Brex user ids"),
    ] = None,
    posted_at_start: Annotated[
        DateBound | None,
        Field(description="First posted date to include (inclusive); a datetime counts by its UTC date"),
    ] = None,
    posted_at_end: Annotated[
        DateBound | None,
        Field(description="Last posted date to include (inclusive); a datetime counts by its UTC date"),
    ] = None,
    fields: Annotated[
        list[TransactionField] | None,
        Field(
            max_length=9,
            description="Fields to return besides id; default posted_date, type, description, amount, card_id, "
            "merchant",
        ),
    ] = None,
) -> Annotated[CallToolResult, TransactionPage]:
    start_day, end_day = posted_at_start, posted_at_end
    if start_day and end_day and start_day > end_day:
        raise ToolError(f"posted_at_start ({start_day}) is after posted_at_end ({end_day}); nothing can match.")
    state = app_state(ctx)
    start = start_position(cursor, FILTERED_PAGE if end_day else limit, "list_transactions")

    def accept(row: Any) -> bool:
        posted = _posted(row)
        if posted is None:
            return start_day is None and end_day is None
        return (start_day is None or posted >= start_day) and (end_day is None or posted <= end_day)

    async def fetch(position: Position) -> Page:
        params: dict[str, Any] = {"limit": position.page_size, "user_ids": user_ids or None}
        if start_day:
            params["posted_at_start"] = f"{start_day.isoformat()}T00:00:00Z"
        if position.cursor is not None:
            params[position.param] = position.cursor
        response = await state.client.custom("GET", "/v2/transactions/card/primary", params=params)
        return parse_page(response.data)

    with tool_errors():
        result = await scan(
            fetch,
            start=start,
            want=limit,
            accept=accept,
            max_pages=state.settings.max_pages_per_call,
            deadline=deadline(state.settings),
            on_page=page_progress(ctx, "transactions"),
        )
    chosen = fields_or_default(fields, DEFAULT_TRANSACTION_FIELDS)
    wanted = set(chosen)
    # Rows go straight to JSON (transaction_json_from_brex), several times cheaper than a model per row.
    rows = [{k: v for k, v in transaction_json_from_brex(row).items() if k in wanted} for row in result.rows]
    return page_result("list_transactions", "transactions", rows, result, start, state.settings.max_result_bytes)


TOOLS = [
    ToolSpec(
        list_transactions,
        title="List card transactions",
        description=(
            "List settled Brex card transactions (pending ones are not available from Brex) in Brex's "
            "chronological order. "
            "amount is integer minor units of its currency (cents for USD, yen for JPY, fils for KWD) with "
            "a display string; purchases are positive, refunds, credits and payments negative; never add "
            "amounts of different currencies. Dates are posted dates in UTC and both bounds are inclusive; "
            "Brex cannot filter by end date, so this tool does, and a page may then hold fewer rows than "
            "`limit`, even none, while has_more is true: keep calling with cursor=next_cursor until "
            "has_more is false. Pass the same filters on every page. `fields` picks what each row carries "
            "(default posted_date, type, description, amount, card_id, merchant; also initiated_date, mcc, "
            "merchant_country); a page cut to fit the result budget says so in `truncated`. For totals, use "
            "spend_summary instead of adding pages up."
        ),
        annotations=READ,
    ),
]
