"""Money stays integer minor units plus an ISO 4217 code; display strings use the currency's real exponent."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

from iso4217 import Currency
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

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


# -- money in: what a model may pass for an amount ----------------------------------------------------

MAX_MINOR = 2**63 - 1  # Brex Money.amount is int64
_DECIMAL = re.compile(r"^(?P<sign>-?)(?P<whole>\d{1,18})(?:\.(?P<fraction>\d{1,18}))?$")


class MoneyInputError(ValueError):
    """Money a model passed that cannot be converted exactly; the message says what to fix."""


def known_currency(currency: str) -> str:
    """The upper-case ISO 4217 code; an error for codes ISO does not define or that have no minor unit rule."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii() or exponent(code) is None:
        raise MoneyInputError(f"currency {currency!r} is not an ISO 4217 currency code (e.g. USD, EUR, JPY)")
    return code


def parse_money(*, currency: str, amount: int | None = None, decimal: str | None = None) -> Money:
    """Exactly one of `amount` (integer minor units) or `decimal` (major units as a string, e.g. "1234.50").

    The decimal goes through `decimal.Decimal`, never a float, and may not have more places than the
    currency's exponent: "10.005" USD is an error, not 10.00 or 10.01, and so is "1.000" USD, which some
    locales write for one thousand.
    """
    code = known_currency(currency)
    places = exponent(code)
    assert places is not None  # known_currency checked it
    if (amount is None) == (decimal is None):
        raise MoneyInputError("give exactly one of amount (integer minor units) or decimal (a string like '12.50')")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise MoneyInputError("amount must be an integer number of minor units (cents for USD)")
        minor = amount
    else:
        assert decimal is not None
        match = _DECIMAL.fullmatch(decimal.strip())
        if match is None:
            raise MoneyInputError(
                f"decimal {decimal!r} is not a plain decimal number: digits with an optional '.' and "
                "fraction, no exponent, thousands separators or currency sign (e.g. '1234.50')"
            )
        fraction = match["fraction"] or ""
        if len(fraction) > places:
            raise MoneyInputError(
                f"decimal {decimal!r} has {len(fraction)} decimal place(s) but {code} allows {places} "
                f"(ISO 4217 exponent {places}); round it yourself or pass amount in minor units"
            )
        value = Decimal(decimal.strip())
        minor = int(value.scaleb(places))
        if Decimal(minor) != value.scaleb(places):  # cannot happen with the pattern above; never round silently
            raise MoneyInputError(f"decimal {decimal!r} cannot be converted exactly to {code} minor units")
    if abs(minor) > MAX_MINOR:
        raise MoneyInputError(f"amount {minor} is too large for Brex")
    return money(minor, code)


class MoneyInput(BaseModel):
    """Money as a tool argument: integer minor units or a decimal string, always with a currency."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. USD, EUR, JPY")
    amount: StrictInt | None = Field(
        default=None, description="Integer minor units (cents for USD: 150000 = 1,500.00 USD). Or use decimal."
    )
    decimal: str | None = Field(
        default=None,
        max_length=40,
        description="Major units as a string (e.g. '1500.00' USD, '20000' JPY); at most the currency's "
        "decimal places. Or use amount.",
    )

    @model_validator(mode="after")
    def _exact(self) -> MoneyInput:
        parse_money(currency=self.currency, amount=self.amount, decimal=self.decimal)  # raises a clear error
        return self

    def to_money(self) -> Money:
        return parse_money(currency=self.currency, amount=self.amount, decimal=self.decimal)
