"""Creating things at Brex in the sandbox: cards (``POST /v2/cards``), user invitations and monthly limits.

Brex's rules as documented: card creation requires an Idempotency-Key; a CARD-limit card must be
virtual and carry spend controls, a USER-limit card must not; a physical card needs a mailing address
and a user holds at most 10 active physical cards; free text is ASCII only; a second user with the
same email is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING, Any

from .seed import CompanyData, JsonDict

if TYPE_CHECKING:
    from .brex import BrexEmulator, Query

MAX_ACTIVE_PHYSICAL_CARDS = 10
SPEND_DURATIONS = frozenset({"MONTHLY", "QUARTERLY", "YEARLY", "ONE_TIME"})
CARD_TYPES = frozenset({"VIRTUAL", "PHYSICAL"})
LIMIT_TYPES = frozenset({"CARD", "USER"})
# A card can be issued to someone who has joined or been invited, not to a leaver.
CARD_OWNER_STATUSES = frozenset({"ACTIVE", "INVITED", "PENDING_ACTIVATION"})
REQUIRES_IDEMPOTENCY_KEY = (("POST", re.compile(r"/v2/cards/?")),)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _ascii(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isprintable()


def _money(value: Any, name: str) -> JsonDict:
    from .brex import bad_request

    if not isinstance(value, dict) or isinstance(value.get("amount"), bool) or not isinstance(value.get("amount"), int):
        raise bad_request(f"{name} is invalid: expected {{amount: integer, currency}}")
    currency = value.get("currency") or "USD"
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise bad_request(f"{name}.currency is invalid")
    if value["amount"] < 0:
        raise bad_request(f"{name}.amount must not be negative")
    return {"amount": value["amount"], "currency": currency}


class ProvisioningRoutes:
    def __init__(self, emulator: BrexEmulator) -> None:
        self.emu = emulator

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("POST", r"/v2/cards", self._create_card),
            ("POST", r"/v2/users", self._invite_user),
            ("POST", r"/v2/users/(?P<id>[^/]+)/limit", self._set_limit),
        ]

    @property
    def data(self) -> CompanyData:
        return self.emu.data

    # -- cards ----------------------------------------------------------------------------------------

    def _create_card(self, query: Query, body: bytes) -> JsonDict:
        from .brex import bad_request, json_object, user_not_found

        request = json_object(body)
        owner = request.get("owner")
        if not isinstance(owner, dict) or owner.get("type") != "USER" or not isinstance(owner.get("user_id"), str):
            raise bad_request("owner is invalid: expected {type: USER, user_id}")
        user = self.data.find("users", owner["user_id"])
        if user is None:
            raise user_not_found()
        if user["status"] not in CARD_OWNER_STATUSES:
            raise bad_request(f"Cannot issue a card to a user with status {user['status']}")
        name = request.get("card_name")
        if not isinstance(name, str) or not name:
            raise bad_request("card_name is required")
        if not _ascii(name):
            raise bad_request("card_name is invalid")
        card_type, limit_type = request.get("card_type"), request.get("limit_type")
        if card_type not in CARD_TYPES:
            raise bad_request(f"card_type is invalid: must be one of {', '.join(sorted(CARD_TYPES))}")
        if limit_type not in LIMIT_TYPES:
            raise bad_request(f"limit_type is invalid: must be one of {', '.join(sorted(LIMIT_TYPES))}")
        controls = request.get("spend_controls")
        if limit_type == "CARD":
            if card_type != "VIRTUAL":
                raise bad_request("A card with limit_type CARD must be VIRTUAL")
            if not isinstance(controls, dict):
                raise bad_request("spend_controls is required when limit_type is CARD")
            spend_controls = self._spend_controls(controls)
        else:
            if controls is not None:
                raise bad_request("spend_controls must be null when limit_type is USER")
            spend_controls = None
        mailing = request.get("mailing_address")
        if card_type == "PHYSICAL":
            if not isinstance(mailing, dict):
                raise bad_request("mailing_address is required for physical cards")
            for line in ("line1", "line2"):
                if isinstance(mailing.get(line), str) and len(mailing[line]) >= 60:
                    raise bad_request(f"mailing_address.{line} must be under 60 characters")
            live = [
                c
                for c in self.data.cards
                if c["owner"]["user_id"] == user["id"] and c["card_type"] == "PHYSICAL" and c["status"] != "TERMINATED"
            ]
            if len(live) >= MAX_ACTIVE_PHYSICAL_CARDS:
                raise bad_request(f"User already has {MAX_ACTIVE_PHYSICAL_CARDS} active physical cards")
        metadata = request.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise bad_request("metadata is invalid")
        card: JsonDict = {
            "id": "ncard_" + secrets.token_hex(11),
            "owner": {"type": "USER", "user_id": user["id"]},
            "status": "ACTIVE" if card_type == "VIRTUAL" else "SHIPPED",
            "last_four": f"{secrets.randbelow(10000):04d}",
            "card_name": name,
            "card_type": card_type,
            "limit_type": limit_type,
            "spend_controls": spend_controls,
            "billing_address": dict(self.data.company["mailing_address"]),
            "mailing_address": dict(mailing) if isinstance(mailing, dict) else None,
            "expiration_date": {"month": 12, "year": 2030},
            "has_been_transferred": False,
            "metadata": dict(metadata or {}),
            "budget_id": controls.get("parent_budget_id") if isinstance(controls, dict) else None,
        }
        self.data.cards.append(card)
        return card

    def _spend_controls(self, controls: JsonDict) -> JsonDict:
        from .brex import bad_request

        limit = _money(controls.get("spend_limit"), "spend_controls.spend_limit")
        duration = controls.get("spend_duration")
        if duration not in SPEND_DURATIONS:
            raise bad_request(f"spend_controls.spend_duration is invalid: one of {', '.join(sorted(SPEND_DURATIONS))}")
        reason = controls.get("reason")
        if reason is not None and not _ascii(reason):
            raise bad_request("spend_controls.reason is invalid")
        lock_after = controls.get("lock_after_date")
        if lock_after is not None:
            try:
                dt.date.fromisoformat(lock_after)
            except (TypeError, ValueError):
                raise bad_request("spend_controls.lock_after_date is invalid: expected YYYY-MM-DD") from None
        if controls.get("parent_budget_id") is not None:
            # The sandbox company has no budgets: every budget id is unknown here.
            raise bad_request("spend_controls.parent_budget_id is invalid: no such budget")
        return {
            "spend_limit": limit,
            "spend_available": dict(limit),
            "spend_duration": duration,
            "reason": reason,
            "lock_after_date": lock_after,
        }

    # -- users ----------------------------------------------------------------------------------------

    def _invite_user(self, query: Query, body: bytes) -> JsonDict:
        from .brex import bad_request, json_object

        request = json_object(body)
        for field in ("first_name", "last_name", "email"):
            value = request.get(field)
            if not isinstance(value, str) or not value.strip():
                raise bad_request(f"{field} is required")
        email = request["email"].strip()
        if not _EMAIL.fullmatch(email):
            raise bad_request("email is invalid")
        if any(u["email"].casefold() == email.casefold() for u in self.data.users):
            raise bad_request("A user with this email already exists")
        for field, collection in (
            ("manager_id", "users"),
            ("department_id", "departments"),
            ("location_id", "locations"),
            ("title_id", "titles"),
        ):
            value = request.get(field)
            if value is not None and (not isinstance(value, str) or self.data.find(collection, value) is None):
                raise bad_request(f"{field} is invalid")
        metadata = request.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise bad_request("metadata is invalid")
        user: JsonDict = {
            "id": "cuuser_" + secrets.token_hex(10),
            "first_name": request["first_name"],
            "last_name": request["last_name"],
            "email": email,
            "status": "INVITED",
            "manager_id": request.get("manager_id"),
            "department_id": request.get("department_id"),
            "location_id": request.get("location_id"),
            "title_id": request.get("title_id"),
            "metadata": dict(metadata or {}),
            "remote_display_id": None,
        }
        self.data.users.append(user)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.data.user_timestamps[user["id"]] = (now, now)
        self.data.user_limits[user["id"]] = {"monthly_limit": None, "monthly_available": None}
        return user

    def _set_limit(self, query: Query, id: str, body: bytes) -> JsonDict:
        from .brex import bad_request, json_object, user_not_found

        request = json_object(body)
        if self.data.find("users", id) is None:
            raise user_not_found()
        if "monthly_limit" not in request:
            raise bad_request("monthly_limit is required (null removes the limit)")
        if request["monthly_limit"] is None:
            limits: JsonDict = {"monthly_limit": None, "monthly_available": None}
        else:
            limit = _money(request["monthly_limit"], "monthly_limit")
            previous = self.data.user_limits.get(id) or {}
            spent = 0
            if previous.get("monthly_limit") and previous.get("monthly_available"):
                spent = previous["monthly_limit"]["amount"] - previous["monthly_available"]["amount"]
            limits = {
                "monthly_limit": limit,
                "monthly_available": {"amount": max(0, limit["amount"] - spent), "currency": limit["currency"]},
            }
        self.data.user_limits[id] = limits
        return limits
