"""Any Brex endpoint through Truto's passthrough, for what the dedicated tools do not cover."""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..output import Output
from .registry import READ, ToolSpec, app_state, structured, tool_errors

# Brex paths are /v1/... or /v2/... with plain segments: no dots (so no traversal), no percent-escapes,
# no query or fragment, no backslashes, no empty segments, ASCII only.
PATH_RE = re.compile(r"^/v[12](/[A-Za-z0-9_-]+)+$")
QUERY_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\])?$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Card numbers and CVVs must never reach a model.
CARD_DATA_RE = re.compile(r"^/v2/cards/[^/]+/(pan|secure_email)$")
MAX_RESPONSE_BYTES = 256 * 1024
MAX_BODY_BYTES = 64 * 1024

QueryScalar = str | int | float | bool


class ProxyResult(Output):
    status: int = Field(description="HTTP status Brex answered with")
    data: Any = Field(default=None, description="Brex's JSON body; lists come as {items, next_cursor}")
    brex_trace_id: str | None = None


def check_path(path: str) -> str:
    if not PATH_RE.fullmatch(path):
        raise ToolError(
            f"path {path[:200]!r} is not a Brex API path: it must look like /v2/cards or /v1/expenses/card/ID, "
            "with no query string, fragment, dots, percent-escapes or host (put parameters in `query`)"
        )
    if CARD_DATA_RE.fullmatch(path):
        raise ToolError("Endpoints that return card numbers or CVVs are never available through this server.")
    return path


def check_query(query: dict[str, QueryScalar | list[QueryScalar]] | None) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in (query or {}).items():
        if not QUERY_KEY_RE.fullmatch(key):
            raise ToolError(f"query parameter name {key[:80]!r} is not allowed")
        if key == "integrated_account_id":
            raise ToolError("query parameter integrated_account_id is set by the server and cannot be chosen")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and CONTROL_RE.search(item):
                raise ToolError(f"query parameter {key!r} contains control characters")
        checked[key] = value
    return checked


async def proxy_request(
    ctx: Context,
    method: Annotated[Literal["GET", "POST", "PUT", "DELETE"], Field(description="HTTP method")],
    path: Annotated[str, Field(max_length=512, description="Brex API path, e.g. /v2/cards/CARD_ID or /v2/users")],
    query: Annotated[
        dict[str, QueryScalar | list[QueryScalar]] | None,
        Field(description='Query parameters, e.g. {"limit": 50, "cursor": "..."}; lists repeat the key'),
    ] = None,
    body: Annotated[dict[str, Any] | list[Any] | None, Field(description="JSON body for POST and PUT")] = None,
) -> Annotated[CallToolResult, ProxyResult]:
    state = app_state(ctx)
    check_path(path)
    params = check_query(query)
    if method != "GET" and state.settings.read_only:
        raise ToolError(f"The server is in read-only mode; {method} requests are refused. Only GET is allowed.")
    if body is not None and method in ("GET", "DELETE"):
        raise ToolError(f"A {method} request takes no body; put parameters in `query`.")
    if body is not None and len(json.dumps(body).encode()) > MAX_BODY_BYTES:
        raise ToolError(f"body is larger than {MAX_BODY_BYTES // 1024} KiB")
    key = str(uuid.uuid4()) if method != "GET" else None
    with tool_errors():
        response = await state.client.custom(method, path, params=params, json_body=body, idempotency_key=key)
    size = len(json.dumps(response.data, separators=(",", ":")).encode())
    if size > MAX_RESPONSE_BYTES:
        raise ToolError(
            f"Brex answered with {size} bytes, more than the {MAX_RESPONSE_BYTES // 1024} KiB this tool returns; "
            "ask for less, e.g. a smaller query limit."
        )
    return structured(ProxyResult(status=response.status, data=response.data, brex_trace_id=response.trace_id))


TOOLS = [
    ToolSpec(
        proxy_request,
        title="Call any Brex API endpoint",
        description=(
            "Call a Brex REST endpoint directly (through Truto) when no dedicated tool fits, e.g. "
            "GET /v2/cards?user_id=..., GET /v2/departments, GET /v2/accounts/card, GET /v1/expenses. "
            "path is the Brex path only (/v1/... or /v2/...); parameters go in query. Money in Brex bodies is "
            "integer minor units plus currency. Lists page with query cursor=<next_cursor> and limit<=1000. "
            "POST/PUT/DELETE change data (an Idempotency-Key is added); prefer dedicated tools for writes. "
            "Card numbers and CVVs are never returned."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
        # In read-only mode the tool refuses everything but GET, so it truly is read-only there.
        read_only_annotations=READ,
    ),
]
