"""User directory tools, through Truto's Unified User Directory API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BeforeValidator, Field

from ..models import User, UserDetail, user_detail_from_unified, user_from_unified
from ..money import money_from_brex
from ..naming import name_users
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..shaping import Truncated, deadline, fields_or_default, page_progress, page_result, project
from .inputs import BrexId, Cursor, start_position
from .registry import READ, AccountState, ToolSpec, app_state, expect_object, structured, tool_errors

UPSTREAM_PAGE = 100  # filtered scans read full pages; unfiltered ones read exactly what was asked

UserStatus = Literal["active", "invited", "inactive", "deleted", "closed", "archived", "pending_activation"]
UserField = Literal[
    "name",
    "email",
    "status",
    "title",
    "department_id",
    "department_name",
    "location_id",
    "location_name",
    "manager_id",
    "manager_name",
]
DEFAULT_USER_FIELDS: tuple[UserField, ...] = ("name", "email", "status", "title", "department_name", "manager_name")


class UserPage(Output):
    users: list[User]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page; absent when done")
    has_more: bool
    truncated: Truncated | None = None


async def list_users(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=100, description="Users to return, 1-100")] = 25,
    cursor: Cursor = None,
    email: Annotated[
        str | None, Field(min_length=3, max_length=320, description="Exact email, case-insensitive")
    ] = None,
    status: Annotated[
        UserStatus | None,
        BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
        Field(description="Only users with this status (any case)"),
    ] = None,
    fields: Annotated[
        list[UserField] | None,
        Field(
            max_length=10,
            description="Fields to return besides id; default name, email, status, title, department_name, "
            "manager_name",
        ),
    ] = None,
) -> Annotated[CallToolResult, UserPage]:
    state = app_state(ctx)
    client = state.client
    filtering = email is not None or status is not None
    start = start_position(cursor, UPSTREAM_PAGE if filtering else limit, "list_users")
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

    chosen = fields_or_default(fields, DEFAULT_USER_FIELDS)
    with tool_errors():
        result = await scan(
            fetch,
            start=start,
            want=limit,
            accept=accept if filtering else lambda _row: True,  # no per-row model work when nothing filters
            max_pages=state.settings.max_pages_per_call,
            deadline=deadline(state.settings),
            on_page=page_progress(ctx, "users"),
        )
        users = await name_users([user_from_unified(r) for r in result.rows], state.directory, chosen)
    rows = [project(user, chosen) for user in users]
    return page_result("list_users", "users", rows, result, start, state.settings.max_result_bytes)


async def get_user(ctx: Context, user_id: BrexId) -> Annotated[CallToolResult, UserDetail]:
    with tool_errors():
        return structured(await load_user(app_state(ctx), user_id))


async def load_user(state: AccountState, user_id: str) -> UserDetail:
    """One user with names for ids and the monthly limit; raises UpstreamError (shared with the resource)."""
    response = await state.client.unified(f"/users/{user_id}")
    detail = user_detail_from_unified(expect_object(response.data, "user"))
    limit = await state.client.custom("GET", f"/v2/users/{user_id}/limit")
    (detail,) = await name_users([detail], state.directory)
    limits = limit.data if isinstance(limit.data, dict) else {}
    return detail.model_copy(
        update={
            "monthly_limit": money_from_brex(limits.get("monthly_limit")),
            "monthly_available": money_from_brex(limits.get("monthly_available")),
        }
    )


TOOLS = [
    ToolSpec(
        list_users,
        title="List Brex users",
        description=(
            "List people in the company's Brex account: id, name, email, status, title, department and "
            "manager names by default; `fields` picks others (ids, location). Use email to find one person's "
            "id, status to find e.g. inactive or invited users. Filters are applied while paging, so a page may "
            "hold fewer than `limit` users, even none, while has_more is true: keep calling with "
            "cursor=next_cursor until has_more is false. A large page may be cut to fit the result budget "
            "(`truncated` says so); the cursor then continues at the first user left out."
        ),
        annotations=READ,
    ),
    ToolSpec(
        get_user,
        title="Get a Brex user",
        description=(
            "Get one user by Brex user id with every field we know: all emails, Brex's own status "
            "(ACTIVE, DISABLED, ...), department, location and manager (ids and names), title, and the monthly "
            "spend limit with what is left of it this month (integer minor units + currency; absent when the "
            "user has no limit). An unknown id is an error."
        ),
        annotations=READ,
    ),
]
