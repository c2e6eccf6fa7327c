"""Argument types shared by tools: checked by the SDK before a tool runs, so bad input never goes upstream."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ..pagination import Position

ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"

BrexId = Annotated[str, Field(pattern=ID_PATTERN, description="A Brex id as returned by a list tool")]
Cursor = Annotated[
    str | None,
    Field(
        default=None,
        max_length=4096,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="next_cursor from the previous call of this tool; omit for the first page",
    ),
]
DateBound = date | datetime


def start_position(cursor: str | None, page_size: int) -> Position:
    if cursor is None:
        return Position(page_size=page_size)
    try:
        return Position.decode(cursor)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def utc_date(value: DateBound) -> date:
    """A date stays itself; a datetime counts by its UTC date (naive means UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).date()
    return value
