"""Money stays integer minor units plus an ISO 4217 code; display strings use the currency's real exponent."""

from __future__ import annotations

from functools import cache
from typing import Any

from iso4217 import Currency
from pydantic import Field

from .output import Output

DEFAULT_CURRENCY = "USD"  # Brex: a Money without a currency is in USD


class Money(Output):
    amount: int = Field(description="Integer amount in the currency's minor units (cents for USD, yen for JPY)")
    currency: str = Field(description="ISO 4217 code")
    display: str | None = Field(
        default=None, description="Amount for people, using the currency's exponent; absent for codes outside ISO 4217"
    )


@cache
def exponent(currency: str) -> int | None:
    """Minor-unit exponent from ISO 4217 (USD 2, JPY 0, KWD 3); None for codes ISO does not define."""
    try:
        value = Currency(currency.upper()).exponent
    except ValueError:
        return None
    return value if isinstance(value, int) else None


def format_minor(amount: int, currency: str) -> str | None:
    """Exact integer arithmetic, never floats: -123456 KWD -> '-123.456 KWD'."""
    places = exponent(currency)
    if places is None:
        return None
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    text = f"{whole:,}"
    if places:
        text += f".{fraction:0{places}d}"
    return f"{sign}{text} {currency.upper()}"


def money(amount: int, currency: str | None) -> Money:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an integer number of minor units, got {type(amount).__name__}")
    code = (currency or DEFAULT_CURRENCY).upper()
    # Built from values checked here: construct() skips pydantic's second look (a full scan makes 100,000 of these).
    return Money.model_construct(amount=amount, currency=code, display=format_minor(amount, code))


def money_json_from_brex(value: Any) -> dict[str, Any] | None:
    """What `money_from_brex(value)` dumps to, without the model: the hot path of long transaction lists."""
    if not isinstance(value, dict):
        return None
    amount = value.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        return None
    currency = value.get("currency")
    code = (currency if isinstance(currency, str) and currency else DEFAULT_CURRENCY).upper()
    display = format_minor(amount, code)
    if display is None:
        return {"amount": amount, "currency": code}
    return {"amount": amount, "currency": code, "display": display}


def money_from_brex(value: Any) -> Money | None:
    """Brex Money is {amount: int, currency: str|null}; anything else is not money and stays None."""
    if not isinstance(value, dict) or isinstance(value.get("amount"), bool):
        return None
    amount = value.get("amount")
    if not isinstance(amount, int):
        return None
    currency = value.get("currency")
    return money(amount, currency if isinstance(currency, str) and currency else None)
