"""Brex domain objects as the tools return them: compact, lenient about what upstream sends."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .money import Money, money_from_brex, money_json_from_brex
from .output import Output
from .text import clean


class User(Output):
    id: str
    name: str | None = None
    email: str | None = Field(default=None, description="Primary email")
    status: str | None = Field(
        default=None, description="active, invited, inactive, deleted, or Brex's own status in lower case"
    )
    title: str | None = None
    department_id: str | None = None
    department_name: str | None = None
    location_id: str | None = None
    location_name: str | None = None
    manager_id: str | None = None
    manager_name: str | None = None


class UserDetail(User):
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] = Field(default_factory=list)
    brex_status: str | None = Field(default=None, description="Brex's own status, e.g. ACTIVE, DISABLED")
    remote_display_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    monthly_limit: Money | None = Field(default=None, description="The user's monthly spend limit; absent if none")
    monthly_available: Money | None = Field(default=None, description="What is left of the monthly limit")


class SpendControls(Output):
    """A vendor card's own limit (limit_type CARD); user cards draw on the owner's monthly limit instead."""

    spend_limit: Money | None = None
    spend_available: Money | None = None
    spend_duration: str | None = Field(default=None, description="MONTHLY, QUARTERLY, YEARLY or ONE_TIME")
    reason: str | None = None
    lock_after_date: str | None = Field(default=None, description="The card locks itself after this date (UTC)")


class Card(Output):
    id: str
    status: str | None = Field(default=None, description="ACTIVE, SHIPPED, LOCKED or TERMINATED")
    last_four: str | None = None
    card_name: str | None = None
    card_type: str | None = Field(default=None, description="VIRTUAL or PHYSICAL")
    limit_type: str | None = Field(default=None, description="USER (draws on the user's limit) or CARD")
    owner_user_id: str | None = None
    owner_name: str | None = None
    spend_controls: SpendControls | None = None
    expiration: str | None = Field(default=None, description="YYYY-MM; the card expires at the end of that month")


class Transaction(Output):
    id: str
    posted_date: str | None = None
    initiated_date: str | None = None
    type: str | None = Field(default=None, description="PURCHASE, REFUND, CHARGEBACK, COLLECTION, ...")
    description: str | None = None
    amount: Money | None = Field(default=None, description="Signed: refunds and payments are negative")
    card_id: str | None = None
    merchant: str | None = None
    mcc: str | None = None
    merchant_country: str | None = None


def _str(value: Any) -> str | None:
    """Upstream text, cleaned of invisible and bidi controls; empty means absent."""
    return (clean(value) or None) if isinstance(value, str) else None


def _emails(unified: dict[str, Any]) -> list[str]:
    entries = [e for e in unified.get("emails") or [] if isinstance(e, dict) and _str(e.get("email"))]
    entries.sort(key=lambda e: not e.get("is_primary"))
    return [clean(e["email"]) for e in entries]


def _name(unified: dict[str, Any]) -> str | None:
    name = _str(unified.get("name"))
    if name:
        return name
    parts = [_str(unified.get("first_name")), _str(unified.get("last_name"))]
    return " ".join(p for p in parts if p) or None


def user_detail_from_unified(unified: dict[str, Any]) -> UserDetail:
    """Truto's unified user, with the Brex fields Truto keeps in remote_data."""
    remote = unified.get("remote_data") if isinstance(unified.get("remote_data"), dict) else {}
    fallback = _str(remote.get("email"))
    emails = _emails(unified) or ([fallback] if fallback else [])
    return UserDetail(
        id=str(unified["id"]),
        name=_name(unified),
        first_name=_str(unified.get("first_name")),
        last_name=_str(unified.get("last_name")),
        email=emails[0] if emails else None,
        emails=emails,
        status=(_str(unified.get("status")) or "").lower() or None,
        brex_status=_str(remote.get("status")),
        title=_str(unified.get("title")),
        department_id=_str(remote.get("department_id")),
        manager_id=_str(remote.get("manager_id")),
        location_id=_str(remote.get("location_id")),
        remote_display_id=_str(remote.get("remote_display_id")),
        created_at=_str(unified.get("created_at")),
        updated_at=_str(unified.get("updated_at")),
    )


def user_from_unified(unified: dict[str, Any]) -> User:
    detail = user_detail_from_unified(unified)
    # The detail is validated; its fields need no second look (construct() is a fraction of model_validate).
    return User.model_construct(**{name: getattr(detail, name) for name in User.model_fields})


def _spend_controls(value: Any) -> SpendControls | None:
    if not isinstance(value, dict):
        return None
    return SpendControls(
        spend_limit=money_from_brex(value.get("spend_limit")),
        spend_available=money_from_brex(value.get("spend_available")),
        spend_duration=_str(value.get("spend_duration")),
        reason=_str(value.get("reason")),
        lock_after_date=_str(value.get("lock_after_date")),
    )


def _expiration(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    month, year = value.get("month"), value.get("year")
    if isinstance(month, int) and isinstance(year, int) and 1 <= month <= 12:
        return f"{year:04d}-{month:02d}"
    return None


def card_from_brex(card: dict[str, Any]) -> Card:
    owner = card.get("owner") if isinstance(card.get("owner"), dict) else {}
    return Card(
        id=str(card["id"]),
        status=_str(card.get("status")),
        last_four=_str(card.get("last_four")),
        card_name=_str(card.get("card_name")),
        card_type=_str(card.get("card_type")),
        limit_type=_str(card.get("limit_type")),
        owner_user_id=_str(owner.get("user_id")),
        spend_controls=_spend_controls(card.get("spend_controls")),
        expiration=_expiration(card.get("expiration_date")),
    )


def transaction_json_from_brex(row: dict[str, Any]) -> dict[str, Any]:
    """`transaction_from_brex(row)` as the JSON a tool returns (nulls left out), built without a model.

    A long transaction list spends most of its time turning rows into output; this is several times
    cheaper than a model per row. The shape is Transaction's, which tests check against its schema.
    """
    merchant = row.get("merchant") if isinstance(row.get("merchant"), dict) else {}
    out: dict[str, Any] = {"id": str(row["id"])}
    for key, value in (
        ("posted_date", _str(row.get("posted_at_date"))),
        ("initiated_date", _str(row.get("initiated_at_date"))),
        ("type", _str(row.get("type"))),
        ("description", _str(row.get("description"))),
        ("amount", money_json_from_brex(row.get("amount"))),
        ("card_id", _str(row.get("card_id"))),
        ("merchant", _str(merchant.get("raw_descriptor"))),
        ("mcc", _str(merchant.get("mcc"))),
        ("merchant_country", _str(merchant.get("country"))),
    ):
        if value is not None:
            out[key] = value
    return out


def transaction_from_brex(row: dict[str, Any]) -> Transaction:
    merchant = row.get("merchant") if isinstance(row.get("merchant"), dict) else {}
    # Every value is checked above or by _str/money_from_brex: construct() skips a second validation.
    return Transaction.model_construct(
        id=str(row["id"]),
        posted_date=_str(row.get("posted_at_date")),
        initiated_date=_str(row.get("initiated_at_date")),
        type=_str(row.get("type")),
        description=_str(row.get("description")),
        amount=money_from_brex(row.get("amount")),
        card_id=_str(row.get("card_id")),
        merchant=_str(merchant.get("raw_descriptor")),
        mcc=_str(merchant.get("mcc")),
        merchant_country=_str(merchant.get("country")),
    )
