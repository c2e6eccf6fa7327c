"""Emulation of the Brex endpoints the project uses, with Brex's own validation rules.

This layer speaks Brex only (bodies, ``{type, message, code?}`` errors, ``items``/``next_cursor``
pages, ``X-Brex-Trace-Id``); wrapping it the way Truto does is ``truto.py``'s job.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .seed import CompanyData, JsonDict

Query = dict[str, list[str]]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

LOCK_REASONS = frozenset(
    {
        "CARD_DAMAGED",
        "CARD_LOST",
        "CARD_NOT_RECEIVED",
        "DO_NOT_NEED_PHYSICAL_CARD",
        "DO_NOT_NEED_VIRTUAL_CARD",
        "FRAUD",
        "OTHER",
    }
)


@dataclass(frozen=True)
class BrexResponse:
    """One emulated Brex answer; ``is_page`` marks an ``{items, next_cursor}`` list page."""

    status: int
    body: Any
    trace_id: str
    is_page: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class BrexError(Exception):
    """Raised by a route to answer with Brex's error body."""

    def __init__(self, status: int, type_: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JsonDict = {"type": type_, "message": message}
        if code is not None:
            self.body["code"] = code


def bad_request(message: str) -> BrexError:
    return BrexError(400, "BAD_REQUEST", message)


def not_found(message: str = "Not Found", code: str | None = None) -> BrexError:
    return BrexError(404, "NOT_FOUND", message, code)


def user_not_found() -> BrexError:
    return not_found("Not Found", "USER_NOT_FOUND")


@dataclass(frozen=True)
class _Page:
    items: list[JsonDict]
    next_cursor: str | None


def encode_cursor(kind: str, offset: int) -> str:
    """Opaque, deterministic cursor in Brex's style (base64 of a small JSON object)."""
    raw = json.dumps({"kind": kind, "offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(kind: str, cursor: str) -> int:
    """Offset inside a ``kind`` listing; a cursor from another listing or garbage is a 400."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        offset = payload["offset"]
        if payload["kind"] != kind or not isinstance(offset, int) or offset < 0:
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error) as exc:
        raise bad_request("cursor is invalid") from exc
    return offset


def parse_limit(query: Query, *, name: str = "limit") -> int:
    """Brex's page size rule: an integer from 1 to 1000, 100 when absent."""
    values = query.get(name)
    if not values or values[0] == "":
        return DEFAULT_LIMIT
    try:
        limit = int(values[0])
    except ValueError:
        raise bad_request(f"{name} must be an integer between 1 and {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"{name} must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _multi(query: Query, *names: str) -> list[str]:
    """Array params sent either repeated (``a=1&a=2``) or comma-separated (``a=1,2``)."""
    out: list[str] = []
    for name in names:
        for value in query.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _utc_date(value: str, name: str) -> str:
    """RFC 3339 date-time (or plain date) to its UTC calendar date, as ``YYYY-MM-DD``."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"{name} is invalid: expected an RFC 3339 date-time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date().isoformat()


def json_object(body: bytes) -> JsonDict:
    """A request body that must be one JSON object."""
    if not body.strip():
        raise bad_request("Request body is required")
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(request, dict):
        raise bad_request("Request body must be a JSON object")
    return request


Route = Callable[..., BrexResponse | JsonDict | list[JsonDict] | _Page]


class BrexEmulator:
    """Routes Brex paths to handlers over the shared company data, under one lock."""

    def __init__(self, data: Callable[[], CompanyData], trace_prefix: str) -> None:
        self._data = data
        self._lock = threading.RLock()
        self._trace_prefix = trace_prefix
        self._trace_counter = itertools.count(1)
        self._idempotent: dict[tuple[str, str, str], tuple[int, Any, bool]] = {}
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        for method, pattern, handler in (
            ("GET", r"/v2/users", self._list_users),
            ("GET", r"/v2/users/me", self._me),
            ("GET", r"/v2/users/(?P<id>[^/]+)", self._get_user),
            ("GET", r"/v2/users/(?P<id>[^/]+)/limit", self._user_limit),
            ("GET", r"/v2/departments", self._lister("departments")),
            ("GET", r"/v2/departments/(?P<id>[^/]+)", self._getter("departments", "Department")),
            ("GET", r"/v2/locations", self._lister("locations")),
            ("GET", r"/v2/locations/(?P<id>[^/]+)", self._getter("locations", "Location")),
            ("GET", r"/v2/titles", self._lister("titles")),
            ("GET", r"/v2/titles/(?P<id>[^/]+)", self._getter("titles", "Title")),
            ("GET", r"/v2/cards", self._list_cards),
            ("GET", r"/v2/cards/(?P<id>[^/]+)", self._get_card),
            ("POST", r"/v2/cards/(?P<id>[^/]+)/lock", self._lock_card),
            ("POST", r"/v2/cards/(?P<id>[^/]+)/unlock", self._unlock_card),
            ("GET", r"/v2/cards/(?P<id>[^/]+)/pan", self._card_pan),
            ("GET", r"/v2/transactions/card/primary", self._list_card_transactions),
            ("GET", r"/v2/accounts/card", self._card_accounts),
            ("GET", r"/v2/company", self._company),
            ("PUT", r"/v2/users/(?P<id>[^/]+)", self._update_user),
            ("GET", r"/v2/accounts/cash", self._cash_accounts),
            ("GET", r"/v2/accounts/cash/primary", self._primary_cash_account),
            ("GET", r"/v2/accounts/cash/(?P<id>[^/]+)", self._cash_account),
        ):
            self._routes.append((method, re.compile(pattern + r"/?"), handler))
        from .expenses import ExpenseRoutes
        from .provisioning import ProvisioningRoutes

        self.expenses = ExpenseRoutes(self)
        for method, pattern, handler in (*ProvisioningRoutes(self).routes(), *self.expenses.routes()):
            self._routes.append((method, re.compile(pattern + r"/?"), handler))

    @property
    def data(self) -> CompanyData:
        return self._data()

    @property
    def lock(self) -> threading.RLock:
        """Held while any request changes the company; other writers (receipt uploads) take it too."""
        return self._lock

    def next_trace_id(self) -> str:
        """A fresh ``X-Brex-Trace-Id`` value; unique for every Brex response."""
        return f"{self._trace_prefix}{next(self._trace_counter):08x}"

    def handle(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> BrexResponse:
        """Answer one Brex request; never raises for client mistakes."""
        method = method.upper()
        key = headers.get("idempotency-key")
        memo_key = (key, method, path) if key and method in ("POST", "PUT") else None
        from .provisioning import REQUIRES_IDEMPOTENCY_KEY

        if not key and any(m == method and p.fullmatch(path) for m, p in REQUIRES_IDEMPOTENCY_KEY):
            return BrexResponse(400, bad_request("Idempotency-Key header is required").body, self.next_trace_id())
        with self._lock:
            if memo_key is not None and memo_key in self._idempotent:
                status, stored, is_page = self._idempotent[memo_key]
                return BrexResponse(status, json.loads(stored), self.next_trace_id(), is_page)
            response = self._dispatch(method, path, query, body)
            if memo_key is not None and response.ok:
                # Stored as text so later changes to the live objects cannot alter the replay.
                self._idempotent[memo_key] = (response.status, json.dumps(response.body), response.is_page)
            return response

    def _dispatch(self, method: str, path: str, query: Query, body: bytes) -> BrexResponse:
        try:
            for route_method, pattern, handler in self._routes:
                match = pattern.fullmatch(path)
                if match is None or route_method != method:
                    continue
                kwargs = match.groupdict()
                if method in ("POST", "PUT"):
                    kwargs["body"] = body
                result = handler(query, **kwargs)
                if isinstance(result, _Page):
                    page = {"next_cursor": result.next_cursor, "items": result.items}
                    return BrexResponse(200, page, self.next_trace_id(), is_page=True)
                if isinstance(result, BrexResponse):
                    return result
                return BrexResponse(200, result, self.next_trace_id())
            raise not_found()
        except BrexError as err:
            return BrexResponse(err.status, err.body, self.next_trace_id())

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _paginate(kind: str, items: list[JsonDict], query: Query) -> _Page:
        limit = parse_limit(query)
        cursor = _first(query, "cursor")
        offset = decode_cursor(kind, cursor) if cursor else 0
        end = offset + limit
        return _Page(items[offset:end], encode_cursor(kind, end) if end < len(items) else None)

    def _user(self, user_id: str) -> JsonDict:
        user = self.data.find("users", user_id)
        if user is None:
            raise user_not_found()
        return user

    def _card(self, card_id: str) -> JsonDict:
        card = self.data.find("cards", card_id)
        if card is None:
            raise not_found("Card not found")
        return card

    # -- users -----------------------------------------------------------------------------------

    def _list_users(self, query: Query) -> _Page:
        users = self.data.users
        email = _first(query, "email")
        if email:
            users = [u for u in users if u["email"].casefold() == email.casefold()]
        display_id = _first(query, "remote_display_id")
        if display_id:
            users = [u for u in users if u.get("remote_display_id") == display_id]
        return self._paginate("users", users, query)

    def _me(self, query: Query) -> JsonDict:
        return self._user(self.data.admin_user_id)

    def _get_user(self, query: Query, id: str) -> JsonDict:
        return self._user(id)

    def _user_limit(self, query: Query, id: str) -> JsonDict:
        self._user(id)
        return self.data.user_limits.get(id) or {"monthly_limit": None, "monthly_available": None}

    # -- departments, locations, titles ----------------------------------------------------------

    def _lister(self, collection: str) -> Route:
        def handler(query: Query) -> _Page:
            items = self.data[collection]
            name = _first(query, "name")
            if name:
                items = [i for i in items if i["name"].casefold() == name.casefold()]
            return self._paginate(collection, items, query)

        return handler

    def _getter(self, collection: str, label: str) -> Route:
        def handler(query: Query, id: str) -> JsonDict:
            item = self.data.find(collection, id)
            if item is None:
                raise not_found(f"{label} not found")
            return item

        return handler

    # -- cards -----------------------------------------------------------------------------------

    def _list_cards(self, query: Query) -> _Page:
        cards = self.data.cards
        user_id = _first(query, "user_id")
        if user_id:
            cards = [c for c in cards if c["owner"]["user_id"] == user_id]
        return self._paginate("cards", cards, query)

    def _get_card(self, query: Query, id: str) -> JsonDict:
        return self._card(id)

    def _lock_card(self, query: Query, id: str, body: bytes) -> JsonDict:
        if not body.strip():
            raise bad_request("Request body is required: a JSON object with reason")
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Request body is not valid JSON") from None
        if not isinstance(request, dict):
            raise bad_request("Request body must be a JSON object")
        reason = request.get("reason")
        if reason is None:
            raise bad_request("reason is required")
        if reason not in LOCK_REASONS:
            raise bad_request(f"reason is invalid: must be one of {', '.join(sorted(LOCK_REASONS))}")
        description = request.get("description")
        if description is not None and (not isinstance(description, str) or not description.isascii()):
            raise bad_request("description is invalid")
        card = self._card(id)
        if card["status"] == "LOCKED":
            raise bad_request("Card is already locked")
        if card["status"] == "TERMINATED":
            raise bad_request("Card is terminated")
        card["status"] = "LOCKED"
        return card

    def _unlock_card(self, query: Query, id: str, body: bytes) -> JsonDict:
        card = self._card(id)
        if card["status"] == "TERMINATED":
            raise bad_request("Card is terminated")
        if card["status"] != "LOCKED":
            raise bad_request("Card is not locked")
        card["status"] = "ACTIVE"
        return card

    def _card_pan(self, query: Query, id: str) -> JsonDict:
        raise BrexError(403, "FORBIDDEN", "Missing scope cards.pan")

    # -- transactions, accounts, company ---------------------------------------------------------

    def _list_card_transactions(self, query: Query) -> _Page:
        rows = self.data.transactions
        start = _first(query, "posted_at_start")
        if start:
            start_date = _utc_date(start, "posted_at_start")
            rows = [r for r in rows if r["posted_at_date"] >= start_date]
        user_ids = _multi(query, "user_ids", "user_ids[]")
        if user_ids:
            wanted = set(user_ids)
            card_ids = {c["id"] for c in self.data.cards if c["owner"]["user_id"] in wanted}
            rows = [r for r in rows if r["card_id"] in card_ids]
        expand = "expense_id" in _multi(query, "expand[]", "expand")
        if expand:
            _ = self.data.expenses  # built on first use; building links each purchase to its expense
        page = self._paginate("card_transactions", rows, query)
        if not expand:  # Brex fills it only when expanded
            page = _Page([{**r, "expense_id": None} for r in page.items], page.next_cursor)
        return page

    def _card_accounts(self, query: Query) -> list[JsonDict]:
        return self.data.card_accounts

    def _company(self, query: Query) -> JsonDict:
        return self.data.company

    def _cash_accounts(self, query: Query) -> _Page:
        # Brex documents no cursor or limit here: the whole list comes in one page.
        return _Page(list(self.data.cash_accounts), None)

    def _primary_cash_account(self, query: Query) -> JsonDict:
        return next(a for a in self.data.cash_accounts if a["primary"])

    def _cash_account(self, query: Query, id: str) -> JsonDict:
        account = self.data.find("cash_accounts", id)
        if account is None:
            raise not_found("Cash account not found")
        return account

    # -- user updates ----------------------------------------------------------------------------

    UPDATABLE_USER_FIELDS = ("status", "manager_id", "department_id", "location_id", "title_id", "metadata")

    def _update_user(self, query: Query, id: str, body: bytes) -> JsonDict:
        """``PUT /v2/users/{id}``: fields left out stay; status only ACTIVE or DISABLED; ids must exist."""
        request = _json_object(body)
        unknown = sorted(set(request) - set(self.UPDATABLE_USER_FIELDS))
        if unknown:
            raise bad_request(f"Unknown field(s): {', '.join(unknown)}")
        user = self._user(id)
        status = request.get("status")
        if status is not None and status not in ("ACTIVE", "DISABLED"):
            raise bad_request("status is invalid: must be ACTIVE or DISABLED")
        if status is not None and user["status"] == "DELETED":
            raise bad_request("User is deleted")
        references = {"manager_id": "users", "department_id": "departments", "location_id": "locations"}
        for name, collection in {**references, "title_id": "titles"}.items():
            value = request.get(name)
            if value is not None and self.data.find(collection, value) is None:
                raise bad_request(f"{name} is invalid")
        metadata = request.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 100
            or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise bad_request("metadata is invalid")
        for name in self.UPDATABLE_USER_FIELDS:
            if request.get(name) is not None:
                user[name] = request[name]
        return user


def _json_object(body: bytes) -> JsonDict:
    if not body.strip():
        raise bad_request("Request body is required")
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(request, dict):
        raise bad_request("Request body must be a JSON object")
    return request
