"""The direct Brex backend: a Brex API token instead of Truto, answering in the shapes the tools read.

Requests, retries, timeouts and backoff are the Truto client's; what differs is the route (Brex's own
paths, no integrated account), the error body (`{type, message, code}`, always Brex's own), and users:
Brex's `/v2/users` is mapped to the Unified User Directory shape the user tools expect, as Truto does.
"""

from __future__ import annotations

from typing import Any

import httpx

from .config import Settings
from .errors import UpstreamError, error_for_status
from .pagination import parse_page
from .truto import Query, Response, TrutoClient, parse_retry_after

UNIFIED_STATUS = {
    "ACTIVE": "active",
    "INVITED": "invited",
    "DISABLED": "inactive",
    "INACTIVE": "inactive",
    "DELETED": "deleted",
}


def client_for(settings: Settings, http: httpx.AsyncClient | None = None) -> TrutoClient:
    """The client for the configured backend."""
    if settings.backend == "brex":
        return BrexDirectClient(settings, http=http)
    return TrutoClient(settings, http=http)


def unified_user(user: dict[str, Any], titles: dict[str, str] | None = None) -> dict[str, Any]:
    """A Brex user in the Unified User Directory shape (status mapped where the mapping is clear, the title
    by name as Truto gives it)."""
    first, last = user.get("first_name") or "", user.get("last_name") or ""
    status = user.get("status")
    email = user.get("email")
    return {
        "id": user.get("id"),
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}".strip(),
        "emails": [{"email": email, "type": "work", "is_primary": True}] if email else [],
        "status": UNIFIED_STATUS.get(status, status) if isinstance(status, str) else None,
        "title": (titles or {}).get(str(user.get("title_id") or "")),
        "remote_data": user,
    }


DIRECT_HINTS = {
    401: "Brex rejected BREX_API_TOKEN (expired after disuse, or revoked); create a new token in the Brex "
    "dashboard under Developer > Settings.",
    403: "The Brex token lacks the scope for this; create a token with the needed scopes.",
}


class BrexDirectClient(TrutoClient):
    TITLES_TTL_SECONDS = 300.0

    _titles: dict[str, str] | None = None
    _titles_at = 0.0

    async def _title_names(self) -> dict[str, str]:
        """Title ids to names, one walk of /v2/titles per few minutes (users carry only title_id)."""
        if self._titles is not None and self._clock() - self._titles_at < self.TITLES_TTL_SECONDS:
            return self._titles
        names: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(50):
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = parse_page((await self.custom("GET", "/v2/titles", params=params)).data)
            names.update({str(t["id"]): str(t.get("name") or "") for t in page.items if isinstance(t, dict)})
            cursor = page.next_cursor
            if cursor is None:
                break
        self._titles, self._titles_at = names, self._clock()
        return names

    async def request(self, method: str, path: str, **kwargs: Any) -> Response:
        kwargs["account_query"] = False  # Brex knows the account from the token
        return await super().request(method, path, **kwargs)

    async def custom(
        self,
        method: str,
        brex_path: str,
        *,
        params: Query | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> Response:
        return await self.request(
            method, brex_path, params=params, json_body=json_body, idempotency_key=idempotency_key
        )

    async def unified(self, path: str, params: Query | None = None) -> Response:
        if path == "/users":
            query = dict(params or {})
            if "next_cursor" in query:
                query["cursor"] = query.pop("next_cursor")
            response = await self.custom("GET", "/v2/users", params=query)
            page = parse_page(response.data)
            titles = await self._title_names() if any(u.get("title_id") for u in page.items) else {}
            envelope = {"result": [unified_user(u, titles) for u in page.items], "next_cursor": page.next_cursor}
            return Response(response.status, envelope, response.trace_id)
        if path.startswith("/users/") and path.count("/") == 2:
            response = await self.custom("GET", "/v2" + path)
            data = response.data if isinstance(response.data, dict) else {}
            titles = await self._title_names() if data.get("title_id") else {}
            return Response(response.status, unified_user(data, titles), response.trace_id)
        raise ValueError(f"the direct Brex backend has no unified route {path}")

    def _parse_error(self, raw: httpx.Response) -> UpstreamError:
        status = raw.status_code
        try:
            body = raw.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("type") or raw.reason_phrase)
            code = body.get("code") or body.get("type")
        else:
            message, code = f"non-JSON error body ({raw.headers.get('content-type', 'no content type')})", None
        return error_for_status(status)(
            self._redact(f"Brex answered HTTP {status}: {message}"),
            status=status,
            remote=True,
            trace_id=raw.headers.get("x-brex-trace-id"),
            code=str(code) if code else None,
            retry_after_seconds=parse_retry_after(raw.headers.get("retry-after")),
            hint=DIRECT_HINTS.get(status),
        )
