"""Truto's side of the sandbox: token and account checks, envelopes, the unified user model.

Truto sits in front of Brex, so every client request is judged here first; only ``/custom/...`` and
the unified users resource reach the Brex emulator.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import unquote

from .brex import MAX_LIMIT, BrexEmulator, BrexResponse, Query
from .seed import CompanyData, JsonDict

ListShape = Literal["brex_page", "truto_envelope"]
LIST_SHAPES: tuple[ListShape, ...] = ("brex_page", "truto_envelope")

UNIFIED_USERS = "/unified/user-directory/users"
CUSTOM_PREFIX = "/custom"
ACCOUNT_PREFIX = "/integrated-account/"
# What Truto's capabilities endpoint lists for a Brex account in the sandbox (resources and their methods).
CAPABILITIES = [
    {"resource": resource, "methods": [{"method": m, "name": f"{m}_brex_{resource}"} for m in methods]}
    for resource, methods in (
        ("users", ("list", "get", "create", "update")),
        ("cards", ("list", "get", "create", "update", "lock", "unlock", "terminate")),
        ("transactions", ("list",)),
        ("departments", ("list", "get")),
        ("locations", ("list", "get")),
        ("titles", ("list", "get")),
    )
]
TRACE_HEADER = "X-Brex-Trace-Id"

# Brex user status -> Truto unified status; anything else is passed through raw, as Truto does.
UNIFIED_STATUS = {
    "ACTIVE": "active",
    "INVITED": "invited",
    "DISABLED": "inactive",
    "INACTIVE": "inactive",
    "DELETED": "deleted",
}


@dataclass
class HttpResponse:
    """What the HTTP layer writes back: status, extra headers, and the encoded body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def truto_error(status: int, message: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """An error raised by Truto itself: the three basic fields, no remote flag."""
    payload = {"statusCode": status, "error": reason_phrase(status), "message": message}
    return json_response(status, payload, headers)


def remote_error(status: int, brex_body: Any, trace_id: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """A Brex error relayed by Truto, with Brex's body in ``raw_response`` and its trace id forwarded."""
    message = brex_body.get("message", "") if isinstance(brex_body, dict) else ""
    payload = {
        "statusCode": status,
        "error": reason_phrase(status),
        "message": message,
        "truto_is_remote_error": True,
        "raw_response": brex_body,
    }
    return json_response(status, payload, {TRACE_HEADER: trace_id, **(headers or {})})


def unified_user(user: JsonDict, data: CompanyData) -> JsonDict:
    """Map a Brex ``UserResponse`` onto Truto's unified user model."""
    title = data.find("titles", user["title_id"]) if user.get("title_id") else None
    created_at, updated_at = data.user_timestamps.get(user["id"], (None, None))
    status = user.get("status")
    return {
        "id": user["id"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "name": f"{user['first_name']} {user['last_name']}",
        "emails": [{"email": user["email"], "type": "work", "is_primary": True}],
        "status": UNIFIED_STATUS.get(status, status) if status is not None else None,
        "title": title["name"] if title else None,
        "created_at": created_at,
        "updated_at": updated_at,
        "remote_data": user,
    }


def _encode_unified_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def _decode_unified_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return offset if prefix == "offset" and offset >= 0 else None


class TrutoGateway:
    """Authenticates, routes and wraps every request the way Truto's API does."""

    def __init__(self, *, token: str, account_id: str, brex: BrexEmulator, list_shape: ListShape) -> None:
        if list_shape not in LIST_SHAPES:
            raise ValueError(f"custom_list_shape must be one of {LIST_SHAPES}, got {list_shape!r}")
        self.token = token
        self.account_id = account_id
        self.brex = brex
        # More integrated accounts, each its own company, for testing a server that serves several.
        self.companies: dict[str, BrexEmulator] = {account_id: brex}
        self.list_shape = list_shape
        self.account_status = "active"  # Truto's values: active, connecting, needs_reauth, ...
        self.brex_token = ""  # set by Sandbox; the credential for Brex's own routes

    def handle(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> HttpResponse:
        """``path`` is the raw request path (no query string); ``headers`` have lower-case names."""
        if path.startswith(("/v1/", "/v2/")):
            return self._brex_native(method, unquote(path), query, headers, body)
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or credential.strip() != self.token:
            return truto_error(401, "Invalid API token")
        if path.startswith(ACCOUNT_PREFIX):
            return self._account(method, path[len(ACCOUNT_PREFIX) :], query)
        account = query.get("integrated_account_id")
        if not account or not account[0]:
            return truto_error(400, "missing integrated_account_id")
        brex = self.companies.get(account[0])
        if brex is None:
            return truto_error(404, "Integrated account not found")

        decoded = unquote(path)
        if decoded == CUSTOM_PREFIX or decoded.startswith(CUSTOM_PREFIX + "/"):
            return self._custom(brex, method, decoded[len(CUSTOM_PREFIX) :] or "/", query, headers, body)
        if decoded.rstrip("/") == UNIFIED_USERS:
            return self._unified_list(brex, query) if method == "GET" else truto_error(405, "Method not allowed")
        if decoded.startswith(UNIFIED_USERS + "/") and decoded.count("/") == 4:
            user_id = decoded[len(UNIFIED_USERS) + 1 :]
            return self._unified_get(brex, user_id) if method == "GET" else truto_error(405, "Method not allowed")
        return truto_error(404, f"No route for {method} {path}")

    # -- Brex's own face, for clients that hold a Brex token themselves ------------------------------

    def _brex_native(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> HttpResponse:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or credential.strip() != self.brex_token:
            trace = self.brex.next_trace_id()
            unauthorized = {"type": "UNAUTHORIZED", "message": "PERMISSION_DENIED: Invalid or Revoked Token"}
            return json_response(401, unauthorized, {TRACE_HEADER: trace})
        answer = self.brex.handle(method, path, query, headers, body)
        return json_response(answer.status, answer.body, {TRACE_HEADER: answer.trace_id})

    # -- admin routes about the integrated account --------------------------------------------------

    def _account(self, method: str, rest: str, query: Query) -> HttpResponse:
        account_id, _, tail = rest.partition("/")
        if method != "GET" or account_id not in self.companies:
            return truto_error(404, "Integrated account not found")
        if tail == "":
            return json_response(
                200,
                {
                    "id": account_id,
                    "status": self.account_status,
                    "integration": {"name": "brex"},
                    "environment_id": "sandbox-environment",
                    "created_at": "2025-11-01T00:00:00.000Z",
                },
            )
        if tail == "capabilities":
            return json_response(200, {"proxy": CAPABILITIES})
        return truto_error(404, f"No route for {method} {ACCOUNT_PREFIX}{rest}")

    # -- unified user directory ------------------------------------------------------------------

    def _unified_list(self, brex: BrexEmulator, query: Query) -> HttpResponse:
        limit_text = (query.get("limit") or [""])[0]
        limit = 100
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                return truto_error(400, f"limit must be an integer between 1 and {MAX_LIMIT}")
            if not 1 <= limit <= MAX_LIMIT:
                return truto_error(400, f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        cursor = (query.get("next_cursor") or [""])[0]
        offset = 0
        if cursor:
            decoded = _decode_unified_cursor(cursor)
            if decoded is None:
                return truto_error(400, "next_cursor is invalid")
            offset = decoded
        data = brex.data
        users = data.users[offset : offset + limit]
        more = offset + limit < len(data.users)
        result = [unified_user(u, data) for u in users]
        return json_response(
            200,
            {
                "result": result,
                "next_cursor": _encode_unified_cursor(offset + limit) if more else None,
                "prev_cursor": None,
                "result_count": len(result),
            },
        )

    def _unified_get(self, brex: BrexEmulator, user_id: str) -> HttpResponse:
        answer = brex.handle("GET", f"/v2/users/{user_id}", {}, {}, b"")
        if not answer.ok:
            return remote_error(answer.status, answer.body, answer.trace_id)
        return json_response(200, unified_user(answer.body, brex.data))

    # -- custom passthrough ----------------------------------------------------------------------

    def _custom(
        self, brex: BrexEmulator, method: str, brex_path: str, query: Query, headers: dict[str, str], body: bytes
    ) -> HttpResponse:
        forwarded = {k: v for k, v in query.items() if k != "integrated_account_id"}
        if self.list_shape == "truto_envelope" and "next_cursor" in forwarded:
            # Truto's own pagination param becomes Brex's ``cursor`` on the way through.
            forwarded["cursor"] = forwarded.pop("next_cursor")
        answer = brex.handle(method, brex_path, forwarded, headers, body)
        return self.wrap(answer)

    def wrap(self, answer: BrexResponse) -> HttpResponse:
        """Wrap a Brex answer the way Truto's custom API returns it."""
        trace = {TRACE_HEADER: answer.trace_id}
        if not answer.ok:
            return remote_error(answer.status, answer.body, answer.trace_id)
        if self.list_shape == "truto_envelope" and (answer.is_page or isinstance(answer.body, list)):
            items = answer.body["items"] if answer.is_page else answer.body
            next_cursor = answer.body.get("next_cursor") if answer.is_page else None
            envelope = {"result": items, "next_cursor": next_cursor, "prev_cursor": None, "result_count": len(items)}
            return json_response(answer.status, envelope, trace)
        envelope = {"result": answer.body, "next_cursor": None, "prev_cursor": None}
        return json_response(answer.status, envelope, trace)
