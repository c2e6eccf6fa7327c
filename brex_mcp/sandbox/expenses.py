"""Brex's Expenses API in the sandbox: seeded card expenses, listing, memo updates and receipt uploads.

Expenses are seeded for the card purchases of the last ``EXPENSE_DAYS`` days of the transaction window,
each linked both ways to its transaction (``transaction.expense_id``), with some receipts missing. A
receipt upload works as at Brex: ``receipt_upload`` answers a pre-signed ``uri``; the bytes are then PUT
to that uri without the API token. The sandbox serves the uri itself (``/_receipts/<token>``) on the
same loopback server, so the whole flow runs end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .seed import TX_LAST_DAY, CompanyData, JsonDict

if TYPE_CHECKING:
    from .brex import BrexEmulator, Query

EXPENSE_DAYS = 120
EXPENSES_MAX_LIMIT = 100  # Brex's Feb 2026 rule for list-expenses (other lists allow 1000)
UPLOAD_TTL_SECONDS = 30 * 60  # Brex's pre-signed receipt uris expire after 30 minutes
MAX_RECEIPT_BYTES = 25 * 1024 * 1024
RECEIPTS_PREFIX = "/_receipts/"
EXPANDABLE = frozenset({"merchant", "user", "department", "location"})
NOT_EMULATED_EXPANSIONS = frozenset({"receipts.download_uris", "budget", "payment"})

_STATUSES = ["APPROVED"] * 6 + ["SUBMITTED"] * 3 + ["DRAFT"] * 2 + ["OUT_OF_POLICY"]
_MEMOS = [
    "Team lunch with customer",
    "Quarterly subscription",
    "Flight to customer onsite",
    "Hotel for offsite",
    "Office supplies",
    "Conference travel",
]
# USD value of one major unit, exact, for billing_amount (the company bills in USD).
_USD_RATE = {
    "USD": Fraction(1),
    "CAD": Fraction(73, 100),
    "GBP": Fraction(127, 100),
    "EUR": Fraction(108, 100),
    "JPY": Fraction(67, 10000),
    "KWD": Fraction(325, 100),
}
_EXPONENT = {"USD": 2, "CAD": 2, "GBP": 2, "EUR": 2, "JPY": 0, "KWD": 3}
_CATEGORY_BY_MCC = {
    "4816": "RECURRING_SOFTWARE_AND_SAAS",
    "5734": "RECURRING_SOFTWARE_AND_SAAS",
    "7311": "ADVERTISING_AND_MARKETING",
    "4121": "RIDESHARE_AND_TAXI",
    "4111": "PUBLIC_TRANSPORTATION",
    "4112": "PUBLIC_TRANSPORTATION",
    "5812": "RESTAURANTS",
    "5814": "RESTAURANTS",
    "4215": "SHIPPING",
    "5943": "OFFICE_SUPPLIES",
    "5732": "ELECTRONICS",
    "6513": "RENT",
}
_ALL_FIELDS_NULL = (
    "location",
    "address",
    "department",
    "budget_id",
    "budget",
    "budget_amount",
    "user",
    "payment",
    "custom_fields",
    "trip_id",
    "spending_entity_id",
    "spending_entity",
    "billing_entity_id",
    "exported_at",
    "integration_spending_entity_id",
    "integration_billing_entity_id",
    "review",
    "repayment",
    "completion_date",
)
# Fields of Brex's ``Expense`` (what PUT answers), a subset of ``ExpandableExpense``.
EXPENSE_FIELDS = (
    "id",
    "memo",
    "location_id",
    "department_id",
    "updated_at",
    "category",
    "merchant_id",
    "budget_id",
    "original_amount",
    "billing_amount",
    "purchased_at",
    "status",
    "payment_status",
)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _usd(amount: JsonDict) -> JsonDict:
    """Exact integer conversion, half up: (minor * rate) scaled from the currency's exponent to cents."""
    currency = amount["currency"]
    rate = _USD_RATE[currency]
    numerator = amount["amount"] * rate.numerator * 100
    denominator = rate.denominator * 10 ** _EXPONENT[currency]
    cents = (2 * numerator + denominator) // (2 * denominator)
    return {"amount": cents, "currency": "USD"}


def _at(day: str, seconds: int) -> str:
    """A timestamp on `day` (YYYY-MM-DD); string arithmetic because seeding thousands of them must be fast."""
    return f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000Z"


def build_expenses(seed: int, data: CompanyData) -> list[JsonDict]:
    """One expense per recent card purchase, linked to it; a separate generator keeps older data unchanged."""
    rng = random.Random(seed * 7919 + 1)
    rand = rng.random
    first_day = (TX_LAST_DAY - dt.timedelta(days=EXPENSE_DAYS - 1)).isoformat()
    owner_of = {c["id"]: c["owner"]["user_id"] for c in data.cards}
    users = {u["id"]: u for u in data.users}
    expenses: list[JsonDict] = []
    for tx in data.transactions:
        if tx["type"] != "PURCHASE" or tx["card_id"] is None or tx["posted_at_date"] < first_day:
            continue
        user = users[owner_of[tx["card_id"]]]
        posted = tx["posted_at_date"]
        status = _STATUSES[int(rand() * len(_STATUSES))]
        has_receipt = status != "DRAFT" and rand() < 0.75
        merchant = tx["merchant"]
        usd = _usd(tx["amount"])
        # A day's events in order: purchase (on the initiated day), posting, submission, approval, last update.
        expense: JsonDict = dict.fromkeys(_ALL_FIELDS_NULL)
        expense.update(
            {
                "id": "expense_" + rng.randbytes(10).hex(),
                "memo": _MEMOS[int(rand() * len(_MEMOS))] if rand() < 0.5 else None,
                "location_id": user["location_id"],
                "department_id": user["department_id"],
                "updated_at": _at(posted, 68400 + int(rand() * 14400)),
                "payment_posted_at": _at(posted, 21600),
                "category": _CATEGORY_BY_MCC.get(merchant["mcc"], "OTHER_BUSINESS_EXPENSES"),
                "merchant_id": f"merchant_{zlib.crc32(merchant['raw_descriptor'].encode()):08x}",
                "merchant": None,
                "receipts": [{"id": "receipt_" + rng.randbytes(10).hex(), "download_uris": None}]
                if has_receipt
                else [],
                "expense_type": "CARD",
                "original_amount": dict(tx["amount"]),
                "billing_amount": usd,
                "purchased_amount": dict(tx["amount"]),
                "usd_equivalent_amount": dict(usd),
                "purchased_at": _at(tx["initiated_at_date"], int(rand() * 21600)),
                "status": status,
                "payment_status": "CLEARED",
                "user_id": user["id"],
                "approved_at": _at(posted, 46800 + int(rand() * 21600)) if status == "APPROVED" else None,
                "submitted_at": _at(posted, 28800 + int(rand() * 14400))
                if status in ("APPROVED", "SUBMITTED", "OUT_OF_POLICY")
                else None,
            }
        )
        tx["expense_id"] = expense["id"]
        expenses.append(expense)
    expenses.sort(key=lambda e: (e["purchased_at"], e["id"]))
    return expenses


@dataclass
class _Upload:
    receipt_id: str
    expense_id: str
    receipt_name: str
    created: float
    used: bool = False


class ExpenseRoutes:
    """The expense endpoints, registered on the Brex emulator; state lives in the company data."""

    def __init__(self, emulator: BrexEmulator, clock: Callable[[], float] = time.monotonic) -> None:
        self.emu = emulator
        self.clock = clock
        self.public_url: str | None = None  # set by Sandbox.start(): pre-signed uris point back at it
        self._uploads: dict[str, _Upload] = {}
        self._uploads_lock = threading.Lock()
        self._merchants: dict[str, JsonDict] | None = None
        self.received: dict[str, tuple[str, str, bytes]] = {}
        """Receipt id -> (name, content type, bytes) of every completed upload, for tests."""

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/v1/expenses", self._list),
            ("GET", r"/v1/expenses/card/(?P<id>[^/]+)", self._get),
            ("PUT", r"/v1/expenses/card/(?P<id>[^/]+)", self._update),
            ("POST", r"/v1/expenses/card/(?P<id>[^/]+)/receipt_upload", self._receipt_upload),
            ("GET", r"/v1/expenses/(?P<id>(?!card$)[^/]+)", self._get),
        ]

    @property
    def data(self) -> CompanyData:
        return self.emu.data

    # -- reads ---------------------------------------------------------------------------------------

    def _expansions(self, query: Query) -> set[str]:
        from .brex import _multi, bad_request

        wanted = set(_multi(query, "expand[]", "expand"))
        for value in sorted(wanted - EXPANDABLE):
            if value in NOT_EMULATED_EXPANSIONS:
                raise bad_request(f"expand[]={value} is not emulated by the sandbox")
            raise bad_request(f"expand[] value {value!r} is invalid")
        return wanted

    def _expanded(self, expense: JsonDict, wanted: set[str]) -> JsonDict:
        out = json.loads(json.dumps(expense))  # answers never share objects with the live state
        if "merchant" in wanted:
            if self._merchants is None:  # expenses keep the merchant of their transaction
                self._merchants = {
                    t["expense_id"]: t["merchant"] for t in self.data.transactions if t.get("expense_id")
                }
            merchant = self._merchants.get(expense["id"])
            out["merchant"] = dict(merchant) if merchant else None
        if "user" in wanted and expense["user_id"]:
            user = self.data.find("users", expense["user_id"])
            if user:
                out["user"] = {k: user[k] for k in ("id", "first_name", "last_name", "department_id", "location_id")}
        for kind, collection in (("department", "departments"), ("location", "locations")):
            item_id = expense.get(f"{kind}_id")
            if kind in wanted and item_id:
                item = self.data.find(collection, item_id)
                out[kind] = {"id": item["id"], "name": item["name"]} if item else None
        return out

    def _list(self, query: Query) -> Any:
        from .brex import _first, _multi, _Page, bad_request, decode_cursor, encode_cursor, parse_limit

        limit = parse_limit(query)
        if limit > EXPENSES_MAX_LIMIT:
            raise bad_request(f"limit must be between 1 and {EXPENSES_MAX_LIMIT}, got {limit}")
        wanted = self._expansions(query)
        rows = self.data.expenses
        for name, field in (
            ("user_id[]", "user_id"),
            ("status[]", "status"),
            ("payment_status[]", "payment_status"),
            ("expense_type[]", "expense_type"),
            ("budget_id[]", "budget_id"),
        ):
            values = set(_multi(query, name))
            if values:
                rows = [r for r in rows if r.get(field) in values]
        for name, field, after in (
            ("purchased_at_start", "purchased_at", True),
            ("purchased_at_end", "purchased_at", False),
            ("updated_at_start", "updated_at", True),
            ("updated_at_end", "updated_at", False),
        ):
            value = _first(query, name)
            if value:
                bound = _instant(value, name)
                rows = [r for r in rows if r[field] and _within(_parse(r[field]), bound, after)]
        cursor = _first(query, "cursor")
        offset = decode_cursor("expenses", cursor) if cursor else 0
        end = offset + limit
        page = [self._expanded(r, wanted) for r in rows[offset:end]]
        return _Page(page, encode_cursor("expenses", end) if end < len(rows) else None)

    def _expense(self, expense_id: str) -> JsonDict:
        from .brex import not_found

        expense = self.data.find("expenses", expense_id)
        if expense is None:
            raise not_found("Expense not found")
        return expense

    def _get(self, query: Query, id: str) -> JsonDict:
        return self._expanded(self._expense(id), self._expansions(query))

    # -- writes --------------------------------------------------------------------------------------

    def _update(self, query: Query, id: str, body: bytes) -> JsonDict:
        from .brex import bad_request, json_object

        request = json_object(body)
        expense = self._expense(id)
        if expense["expense_type"] != "CARD":
            raise bad_request("Only card expenses can be updated here")
        if "memo" in request:
            memo = request["memo"]
            if memo is not None and (not isinstance(memo, str) or not _printable_ascii(memo)):
                raise bad_request("memo is invalid")
            expense["memo"] = memo
            expense["updated_at"] = _stamp(dt.datetime.now(dt.UTC))
        return {k: json.loads(json.dumps(expense[k])) for k in EXPENSE_FIELDS}

    def _receipt_upload(self, query: Query, id: str, body: bytes) -> Any:
        from .brex import BrexResponse, bad_request, json_object

        request = json_object(body)
        name = request.get("receipt_name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("receipt_name is required")
        if not _printable_ascii(name):
            raise bad_request("receipt_name is invalid")
        expense = self._expense(id)
        if expense["expense_type"] != "CARD":
            raise bad_request("Only card expenses take receipts here")
        if self.public_url is None:
            raise RuntimeError("the sandbox must be started before it can hand out upload uris")
        token = secrets.token_urlsafe(24)
        receipt_id = "receipt_" + secrets.token_hex(10)
        with self._uploads_lock:
            self._uploads[token] = _Upload(receipt_id, id, name, self.clock())
        body_out = {"id": receipt_id, "uri": f"{self.public_url}{RECEIPTS_PREFIX}{token}"}
        return BrexResponse(201, body_out, self.emu.next_trace_id())

    # -- the pre-signed uri (not Truto, not Brex: the storage bucket) ----------------------------------

    def receive(self, method: str, token: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """The storage side of an upload: (HTTP status, plain-text message)."""
        if method != "PUT":
            return 405, "Only PUT is allowed on an upload uri"
        with self._uploads_lock:
            upload = self._uploads.get(token)
            if upload is None:
                return 403, "Unknown upload uri"
            if self.clock() - upload.created > UPLOAD_TTL_SECONDS:
                return 403, "Request has expired"
            if upload.used:
                return 403, "This upload uri was already used"
            if not body:
                return 400, "Empty upload"
            if len(body) > MAX_RECEIPT_BYTES:
                return 413, "Upload too large"
            if "authorization" in headers:
                return 400, "Pre-signed uploads take no Authorization header"
            upload.used = True
        with self.emu.lock:
            expense = self.data.find("expenses", upload.expense_id)
            if expense is None:
                return 404, "The expense no longer exists"
            expense["receipts"] = [*(expense["receipts"] or []), {"id": upload.receipt_id, "download_uris": None}]
            expense["updated_at"] = _stamp(dt.datetime.now(dt.UTC))
            self.received[upload.receipt_id] = (upload.receipt_name, headers.get("content-type", ""), body)
        return 200, ""


_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7E\t\n\r]*$")


def _printable_ascii(text: str) -> bool:
    return bool(_PRINTABLE_ASCII.fullmatch(text))


def _within(moment: dt.datetime, bound: dt.datetime, after: bool) -> bool:
    """Both bounds inclusive."""
    return moment >= bound if after else moment <= bound


def _parse(stamp: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _instant(value: str, name: str) -> dt.datetime:
    from .brex import bad_request

    try:
        return _parse(value)
    except ValueError:
        raise bad_request(f"{name} is invalid: expected an RFC 3339 date-time") from None
