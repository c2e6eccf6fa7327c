"""Reading cards: a filtered list (Brex has no status filter, so it is applied here) and one card in full."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ..models import Card, card_from_brex
from ..naming import name_cards
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..shaping import Truncated, deadline, fields_or_default, page_progress, page_result, project
from .inputs import ID_PATTERN, BrexId, Cursor, start_position
from .registry import READ, AccountState, ToolSpec, app_state, expect_object, structured, tool_errors

FILTERED_PAGE = 100  # a status filter may skip many cards: read full pages

CardStatus = Literal["ACTIVE", "SHIPPED", "LOCKED", "TERMINATED"]
CardField = Literal[
    "status",
    "last_four",
    "card_name",
    "card_type",
    "limit_type",
    "owner_user_id",
    "owner_name",
    "spend_controls",
    "expiration",
]
DEFAULT_CARD_FIELDS: tuple[CardField, ...] = ("status", "last_four", "card_name", "card_type", "owner_name")


class CardPage(Output):
    cards: list[Card]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page; absent when done")
    has_more: bool
    truncated: Truncated | None = None


async def list_cards(
    ctx: Context,
    user_id: Annotated[
        str | None, Field(default=None, pattern=ID_PATTERN, description="Only cards owned by this Brex user id")
    ] = None,
    status: Annotated[
        list[CardStatus] | None,
        Field(default=None, max_length=4, description="Only cards in these statuses, e.g. [ACTIVE, SHIPPED]"),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Cards to return, 1-100")] = 25,
    cursor: Cursor = None,
    fields: Annotated[
        list[CardField] | None,
        Field(
            max_length=9,
            description="Fields to return besides id; default status, last_four, card_name, card_type, owner_name",
        ),
    ] = None,
) -> Annotated[CallToolResult, CardPage]:
    state = app_state(ctx)
    wanted = set(status or ())
    start = start_position(cursor, FILTERED_PAGE if wanted else limit, "list_cards")

    async def fetch(position: Position) -> Page:
        params: dict[str, Any] = {"limit": position.page_size, "user_id": user_id}
        if position.cursor is not None:
            params[position.param] = position.cursor
        response = await state.client.custom("GET", "/v2/cards", params=params)
        return parse_page(response.data)

    def accept(row: Any) -> bool:
        return not wanted or (isinstance(row, dict) and row.get("status") in wanted)

    chosen = fields_or_default(fields, DEFAULT_CARD_FIELDS)
    with tool_errors():
        result = await scan(
            fetch,
            start=start,
            want=limit,
            accept=accept,
            max_pages=state.settings.max_pages_per_call,
            deadline=deadline(state.settings),
            on_page=page_progress(ctx, "cards"),
        )
        cards = [card_from_brex(row) for row in result.rows]
        if "owner_name" in chosen:
            cards = await name_cards(cards, state.directory)
    rows = [project(card, chosen) for card in cards]
    return page_result("list_cards", "cards", rows, result, start, state.settings.max_result_bytes)


async def get_card(ctx: Context, card_id: BrexId) -> Annotated[CallToolResult, Card]:
    with tool_errors():
        return structured(await load_card(app_state(ctx), card_id))


async def load_card(state: AccountState, card_id: str) -> Card:
    """One card with its owner's name; raises UpstreamError (shared with the resource)."""
    response = await state.client.custom("GET", f"/v2/cards/{card_id}")
    card = card_from_brex(expect_object(response.data, "card"))
    (card,) = await name_cards([card], state.directory)
    return card


TOOLS = [
    ToolSpec(
        list_cards,
        title="List Brex cards",
        description=(
            "List company cards: id, status, last four digits, name, type and owner's name by default; "
            "`fields` adds limit_type, owner_user_id, spend_controls (vendor cards' own limit, integer minor "
            "units) or expiration. Filter by owner (user_id) and by status (ACTIVE, SHIPPED, LOCKED, "
            "TERMINATED; ACTIVE and SHIPPED cards can still be used). Brex cannot filter by status, so this "
            "tool does while paging: a page may hold fewer than `limit` cards, even none, while has_more is "
            "true; keep calling with cursor=next_cursor and the same filters until has_more is false. Never "
            "returns card numbers."
        ),
        annotations=READ,
    ),
    ToolSpec(
        get_card,
        title="Get a Brex card",
        description=(
            "Get one card by id: status, last four, name, type, owner (id and name), limit type (USER cards "
            "draw on the owner's monthly limit, CARD cards have their own spend_controls: limit, available, "
            "duration, lock-after date; money in integer minor units) and expiration month. Use it to answer "
            "'who owns card ...'. Never returns the card number. An unknown id is an error."
        ),
        annotations=READ,
    ),
]
