"""User directory tools, through Truto's Unified User Directory API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ..models import User, UserDetail, user_detail_from_unified, user_from_unified
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from .inputs import BrexId, Cursor, start_position
from .registry import READ, ToolSpec, app_state, expect_object, structured, tool_errors

UPSTREAM_PAGE = 100  # filtered scans read full pages; unfiltered ones read exactly what was asked

UserStatus = Literal["active", "invited", "inactive", "deleted", "closed", "archived", "pending_activation"]


class UserPage(Output):
    users: list[User]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page; absent when done")
    has_more: bool


async def list_users(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=100, description="Users to return, 1-100")] = 25,
    cursor: Cursor = None,
    email: Annotated[
        str | None, Field(min_length=3, max_length=320, description="Exact email, case-insensitive")
    ] = None,
    status: Annotated[UserStatus | None, Field(description="Only users with this status")] = None,
) -> Annotated[CallToolResult, UserPage]:
    client = app_state(ctx).client
    filtering = email is not None or status is not None
    start = start_position(cursor, UPSTREAM_PAGE if filtering else limit)
    wanted_email = email.casefold() if email else None

    def accept(row: Any) -> bool:
        user = user_detail_from_unified(row)
        if wanted_email and wanted_email not in (e.casefold() for e in user.emails):
            return False
        return (
            status is None
            or (user.status or "").casefold() == status
            or ((user.brex_status or "").casefold() == status)
        )

    async def fetch(position: Position) -> Page:
        params: dict[str, Any] = {"limit": position.page_size}
        if position.cursor is not None:
            params[position.param] = position.cursor
        response = await client.unified("/users", params)
        return parse_page(response.data)

    with tool_errors():
        result = await scan(
            fetch,
            start=start,
            want=limit,
            accept=accept if filtering else lambda _row: True,  # no per-row model work when nothing filters
            max_pages=app_state(ctx).settings.max_pages_per_call,
        )
    return structured(
        UserPage(
            users=[user_from_unified(row) for row in result.rows],
            next_cursor=result.next.encode() if result.next else None,
            has_more=result.has_more,
        )
    )


async def get_user(ctx: Context, user_id: BrexId) -> Annotated[CallToolResult, UserDetail]:
    client = app_state(ctx).client
    with tool_errors():
        response = await client.unified(f"/users/{user_id}")
        return structured(user_detail_from_unified(expect_object(response.data, "user")))


TOOLS = [
    ToolSpec(
        list_users,
        title="List Brex users",
        description=(
            "List people in the company's Brex account (id, name, email, status, title, department_id, "
            "manager_id). Use email to find one person's id, status to find e.g. inactive or invited users. "
            "Filters are applied while paging, so a page may hold fewer than `limit` users, even none, while "
            "has_more is true: keep calling with cursor=next_cursor until has_more is false."
        ),
        annotations=READ,
    ),
    ToolSpec(
        get_user,
        title="Get a Brex user",
        description=(
            "Get one user by Brex user id with every field we know: all emails, Brex's own status "
            "(ACTIVE, DISABLED, ...), department, location, manager and title. An unknown id is an error."
        ),
        annotations=READ,
    ),
]
