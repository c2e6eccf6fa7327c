"""Any catalogued Brex endpoint through Truto's passthrough, for what the dedicated tools do not cover."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from .. import catalog
from ..output import Output
from ..text import clean_deep
from .registry import READ, ToolSpec, app_state, structured, tool_errors
from .writes import Consent, PlannedRequest, WriteConfirmation, ask, consent_of, send_write

# Brex paths are /v1/... or /v2/... with plain segments: no dots (so no traversal), no percent-escapes,
# no query or fragment, no backslashes, no empty segments, ASCII only.
PATH_RE = re.compile(r"^/v[12](/[A-Za-z0-9_-]+)+$")
QUERY_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\])?$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_RESPONSE_BYTES = 256 * 1024
MAX_BODY_BYTES = 64 * 1024
MAX_QUERY_CHARS = 4096

Method = Literal["GET", "POST", "PUT", "DELETE"]
QueryScalar = str | int | float | bool
Query = dict[str, QueryScalar | list[QueryScalar]]


class Truncation(Output):
    items_returned: int | None = Field(default=None, description="Rows kept from the page")
    items_in_page: int | None = None
    bytes: int = Field(description="Size of Brex's full answer")
    hint: str


class ProxyResult(Output):
    status: int = Field(description="HTTP status Brex answered with; 0 for a dry run")
    data: Any = Field(default=None, description="Brex's JSON body; lists come as {items, next_cursor}")
    truncated: Truncation | None = Field(default=None, description="Present when data was cut to fit")
    endpoint: str | None = Field(default=None, description="The catalogued Brex endpoint this path matched")
    dry_run: bool = False
    would_send: PlannedRequest | None = Field(default=None, description="Dry run: the exact request, not sent")
    confirmation: str | None = None
    idempotency_key: str | None = None
    brex_trace_id: str | None = None


def check_path(method: str, path: str, allow_unknown: bool) -> catalog.Endpoint | None:
    if not PATH_RE.fullmatch(path):
        raise ToolError(
            f"path {path[:200]!r} is not a Brex API path: it must look like /v2/cards or /v1/expenses/card/ID, "
            "with no query string, fragment, dots, percent-escapes or host (put parameters in `query`)"
        )
    if catalog.is_card_data_path(path):
        raise ToolError("Endpoints that return card numbers or CVVs are never available through this server.")
    endpoint = catalog.find(method, path)
    if endpoint is None and not allow_unknown:
        raise ToolError(
            f"{method} {path} is not a documented Brex endpoint, so it is refused. Check the path and method "
            "(e.g. GET /v2/cards/{id}, POST /v2/cards/{id}/lock); the operator can allow undocumented endpoints "
            "with --allow-unknown-endpoints."
        )
    return endpoint


def check_query(query: Query | None) -> dict[str, Any]:
    size = 0
    for key, value in (query or {}).items():
        if not QUERY_KEY_RE.fullmatch(key):
            raise ToolError(f"query parameter name {key[:80]!r} is not allowed")
        if key.removesuffix("[]").casefold() == "integrated_account_id":
            raise ToolError("query parameter integrated_account_id is set by the server and cannot be chosen")
        size += len(key) + sum(len(str(item)) + 1 for item in (value if isinstance(value, list) else [value]))
        if size > MAX_QUERY_CHARS:
            raise ToolError(f"the query is longer than {MAX_QUERY_CHARS} characters; ask for less at a time")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and CONTROL_RE.search(item):
                raise ToolError(f"query parameter {key!r} contains control characters")
    return dict(query or {})


def check_request(ctx: Context, method: str, path: str, query: Query | None, body: Any) -> catalog.Endpoint | None:
    """Every refusal that needs no upstream call, in one place, before anyone is asked anything."""
    settings = app_state(ctx).settings
    if method != "GET" and settings.read_only:
        raise ToolError(f"The server is in read-only mode; {method} requests are refused. Only GET is allowed.")
    endpoint = check_path(method, path, settings.allow_unknown_endpoints)
    check_query(query)
    if body is not None and method in ("GET", "DELETE"):
        raise ToolError(f"A {method} request takes no body; put parameters in `query`.")
    if body is not None and len(json.dumps(body).encode()) > MAX_BODY_BYTES:
        raise ToolError(f"body is larger than {MAX_BODY_BYTES // 1024} KiB")
    return endpoint


async def _confirm_request(
    method: str, path: str, query: Query | None, body: Any, dry_run: bool, ctx: Context
) -> Elicit[WriteConfirmation] | Consent:
    arguments = {"method": method, "path": path, "query": query, "body": body, "dry_run": dry_run}
    try:
        check_request(ctx, method, path, query, body)
    except ToolError as refusal:
        if method != "GET":
            app_state(ctx).audit.record("proxy_request", arguments, "refused", detail=str(refusal))
        raise
    if method == "GET" or dry_run:
        return Consent.NOT_NEEDED
    shown = json.dumps(body, ensure_ascii=True, sort_keys=True)[:500] if body is not None else "no body"
    suffix = f"?{json.dumps(query, sort_keys=True)}" if query else ""
    question = f"Send {method} {path}{suffix} to Brex with {shown}? This changes data in Brex."
    return ask(ctx, question, "proxy_request", arguments)


async def proxy_request(
    ctx: Context,
    method: Annotated[Method, Field(description="HTTP method")],
    path: Annotated[str, Field(max_length=512, description="Brex API path, e.g. /v2/cards/CARD_ID or /v2/users")],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_request)],
    query: Annotated[
        Query | None, Field(description='Query parameters, e.g. {"limit": 50, "cursor": "..."}; lists repeat the key')
    ] = None,
    body: Annotated[dict[str, Any] | list[Any] | None, Field(description="JSON body for POST and PUT")] = None,
    dry_run: Annotated[
        bool, Field(description="For writes: show the request that would be sent; send nothing")
    ] = False,
) -> Annotated[CallToolResult, ProxyResult]:
    state = app_state(ctx)
    endpoint = check_request(ctx, method, path, query, body)
    template = endpoint.template if endpoint else None
    params = check_query(query)
    arguments = {"method": method, "path": path, "query": query, "body": body, "dry_run": dry_run}
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record("proxy_request", arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; the {method} request was not sent.")
    if method == "GET":
        with tool_errors():
            response = await state.client.custom(method, path, params=params)
        return structured(_result(response.status, response.data, template, brex_trace_id=response.trace_id))
    if dry_run:
        state.audit.record("proxy_request", arguments, "dry_run")
        planned = PlannedRequest(method=method, path=path, query=params or None, body=body)
        return structured(
            ProxyResult(status=0, would_send=planned, endpoint=template, dry_run=True, confirmation=consent.value)
        )
    response, key = await send_write(ctx, "proxy_request", arguments, consent, method, path, params=params, body=body)
    return structured(
        _result(response.status, response.data, template, response.trace_id, consent.value, idempotency_key=key)
    )


def _result(
    status: int,
    data: Any,
    template: str | None,
    brex_trace_id: str | None = None,
    confirmation: str | None = None,
    idempotency_key: str | None = None,
) -> ProxyResult:
    data = clean_deep(data)
    data, truncated = _fit(data)
    return ProxyResult(
        status=status,
        data=data,
        truncated=truncated,
        endpoint=template,
        confirmation=confirmation,
        idempotency_key=idempotency_key,
        brex_trace_id=brex_trace_id,
    )


def _fit(data: Any) -> tuple[Any, Truncation | None]:
    """Keep results under the cap; a cut list says how many rows it kept and how to page without gaps."""
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size <= MAX_RESPONSE_BYTES:
        return data, None
    items = data.get("items") if isinstance(data, dict) else None
    if isinstance(items, list):
        kept: list[Any] = []
        used = 200
        for item in items:
            used += len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()) + 1
            if used > MAX_RESPONSE_BYTES:
                break
            kept.append(item)
        page = {k: v for k, v in data.items() if k not in ("items", "next_cursor")}
        page["items"] = kept
        hint = (
            f"Brex's page was {size} bytes; only the first {len(kept)} of {len(items)} rows fit. Its next_cursor "
            f"was dropped because it would skip the rest: ask again with query limit={max(1, len(kept))}."
        )
        return page, Truncation(items_returned=len(kept), items_in_page=len(items), bytes=size, hint=hint)
    return None, Truncation(
        bytes=size,
        hint=f"Brex's answer was {size} bytes, over the {MAX_RESPONSE_BYTES // 1024} KiB this tool "
        "returns; ask for less (a smaller limit or a narrower endpoint).",
    )


TOOLS = [
    ToolSpec(
        proxy_request,
        title="Call a Brex API endpoint",
        description=(
            "Call a documented Brex REST endpoint directly (through Truto) when no dedicated tool fits, e.g. "
            "GET /v2/cards with query user_id, GET /v2/departments, GET /v2/accounts/card, GET /v1/expenses. "
            "path is the Brex path only (/v1/... or /v2/...); parameters go in query. Money in Brex bodies is "
            "integer minor units plus currency. Lists page with query cursor=<next_cursor> and limit<=1000. "
            "POST/PUT/DELETE change data: an Idempotency-Key is added, the user may be asked to confirm, and "
            "dry_run=true shows the request without sending it. Card numbers and CVVs are never returned."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
        # In read-only mode the tool refuses everything but GET, so it truly is read-only there.
        read_only_annotations=READ,
    ),
]
