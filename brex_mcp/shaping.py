"""Results that fit a model's context: chosen fields, a byte budget with an explicit marker, a hard 1 MiB cap.

A list tool builds its rows, projects each to the fields asked for (a compact default otherwise), and
lets `fit_rows` keep as many as fit the configured budget. Rows that do not fit are not lost: the tool
hands back the cursor of the first row left out, and the result says it was cut and why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .config import HARD_RESULT_LIMIT, Settings
from .output import Output
from .pagination import Position, ScanResult

MARKER_ALLOWANCE = 400  # bytes kept free for the truncation marker and the cursor


class Truncated(Output):
    """Present when rows were left out to fit the byte budget; the cursor continues at the first one left out."""

    reason: Literal["byte_budget"] = Field(description="byte_budget: the result would have exceeded max_bytes")
    rows_returned: int
    rows_left_out: int = Field(description="Rows read but not returned; the next call with next_cursor returns them")
    max_bytes: int
    hint: str


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def size_of(data: Any) -> int:
    return len(compact_json(data).encode("utf-8"))


def project(model: BaseModel, fields: Iterable[str]) -> dict[str, Any]:
    """The model as JSON with only `fields` (and never a null)."""
    return model.model_dump(mode="json", exclude_none=True, include=set(fields))


def fields_or_default(
    fields: Sequence[str] | None, default: Sequence[str], always: Sequence[str] = ("id",)
) -> list[str]:
    chosen = list(fields) if fields else list(default)
    return [*always, *(f for f in chosen if f not in always)]


def fit_rows(
    rows: list[dict[str, Any]], envelope: Callable[[list[dict[str, Any]]], dict[str, Any]], max_bytes: int
) -> int:
    """How many leading rows fit in `max_bytes` once wrapped by `envelope`; at least one when there are any."""
    if size_of(envelope(rows)) <= max_bytes:
        return len(rows)
    room = max_bytes - size_of(envelope([])) - MARKER_ALLOWANCE
    kept = 0
    for row in rows:
        room -= size_of(row) + 1
        if room < 0:
            break
        kept += 1
    return max(kept, 1 if rows else 0)


def truncation(kept: int, total: int, max_bytes: int) -> Truncated:
    return Truncated(
        reason="byte_budget",
        rows_returned=kept,
        rows_left_out=total - kept,
        max_bytes=max_bytes,
        hint="Call again with cursor=next_cursor for the rest, or ask for fewer fields to get more rows per call.",
    )


def respond(data: dict[str, Any]) -> CallToolResult:
    """Structured content plus the same compact JSON as text, refused above the hard limit clients enforce."""
    text = compact_json(data)
    if len(text.encode("utf-8")) > HARD_RESULT_LIMIT:
        raise ToolError("The result would exceed 1 MiB; narrow the request (fewer fields, a smaller limit or window).")
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def deadline(settings: Settings, clock: Callable[[], float] = time.monotonic) -> float:
    """When this call must stop paging and return what it has (the configured time budget from now)."""
    return clock() + settings.time_budget_seconds


def page_progress(ctx: Context, what: str) -> Callable[[int, int], Awaitable[None]]:
    """A scan's on_page hook that sends MCP progress notifications (a no-op when the client asked for none)."""

    async def report(pages: int, rows: int) -> None:
        await ctx.report_progress(pages, None, f"read {pages} page{'s' if pages != 1 else ''}, {rows} {what} so far")

    return report


def page_result(
    tool: str, key: str, rows: list[dict[str, Any]], result: ScanResult, start: Position, max_bytes: int
) -> CallToolResult:
    """A list page `{key: rows, has_more, next_cursor?, truncated?}` cut to `max_bytes`; the cursor never skips
    and belongs to `tool`."""

    def envelope(kept: list[dict[str, Any]], cut: bool = False) -> dict[str, Any]:
        position = result.next_after(len(kept), start) if cut else result.next
        page: dict[str, Any] = {key: kept, "has_more": position is not None}
        if position is not None:
            page["next_cursor"] = position.encode(tool)
        if cut:
            page["truncated"] = truncation(len(kept), len(rows), max_bytes).model_dump()
        return page

    kept = fit_rows(rows, envelope, max_bytes)
    if kept == len(rows):
        return respond(envelope(rows))
    while kept > 1 and size_of(envelope(rows[:kept], cut=True)) > max_bytes:  # the estimate was short
        kept -= 1
    return respond(envelope(rows[:kept], cut=True))
