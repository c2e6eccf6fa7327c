"""Argument types shared by tools: checked by the SDK before a tool runs, so bad input never goes upstream."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BeforeValidator, Field, WithJsonSchema

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
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"


def _utc_day(value: object) -> date:
    """A date stays itself; a datetime counts by its UTC date (no offset means UTC)."""
    if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
        raise ValueError("a date must be a string, YYYY-MM-DD or an ISO 8601 datetime such as 2026-03-31T23:00:00Z")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date; use YYYY-MM-DD or an ISO 8601 datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


# Strings only: a bare number is not read as a Unix timestamp, it is refused.
DateBound = Annotated[date, BeforeValidator(_utc_day), WithJsonSchema({"type": "string", "pattern": DATE_PATTERN})]


def start_position(cursor: str | None, page_size: int, tool: str) -> Position:
    if cursor is None:
        return Position(page_size=page_size)
    try:
        return Position.decode(cursor, tool)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def _calendar_day(value: object) -> date:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("a date must be a real calendar day written YYYY-MM-DD")


# A calendar day, as a string: strict argument checking refuses anything looser.
Day = Annotated[date, BeforeValidator(_calendar_day), WithJsonSchema({"type": "string", "format": "date"})]
