"""Money at rest: the company's card accounts (balance, limit) and cash accounts (balances), in one call."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ..errors import UpstreamError
from ..money import Money, money_from_brex
from ..output import Output
from ..pagination import parse_page
from ..text import clean
from .registry import READ, ToolSpec, app_state, structured, tool_errors


class CardAccount(Output):
    id: str
    status: str | None = None
    current_balance: Money | None = Field(default=None, description="Owed on the card account now")
    available_balance: Money | None = Field(default=None, description="Still available to spend")
    account_limit: Money | None = None
    statement_period_start: str | None = None
    statement_period_end: str | None = None


class CashAccount(Output):
    id: str
    name: str | None = None
    status: str | None = None
    primary: bool | None = None
    current_balance: Money | None = None
    available_balance: Money | None = None
    account_number_last_four: str | None = Field(default=None, description="Only the last four digits are shown")


class Accounts(Output):
    card_accounts: list[CardAccount] | None = None
    cash_accounts: list[CashAccount] | None = None
    cash_accounts_error: str | None = Field(
        default=None, description="Why cash accounts could not be read (often: Brex Cash is not enabled)"
    )


def _card_account(row: dict[str, Any]) -> CardAccount:
    period = row.get("current_statement_period") if isinstance(row.get("current_statement_period"), dict) else {}
    return CardAccount(
        id=str(row["id"]),
        status=_text(row.get("status")),
        current_balance=money_from_brex(row.get("current_balance")),
        available_balance=money_from_brex(row.get("available_balance")),
        account_limit=money_from_brex(row.get("account_limit")),
        statement_period_start=_text(period.get("start_date")),
        statement_period_end=_text(period.get("end_date")),
    )


def _cash_account(row: dict[str, Any]) -> CashAccount:
    number = row.get("account_number")
    return CashAccount(
        id=str(row["id"]),
        name=_text(row.get("name")),
        status=_text(row.get("status")),
        primary=row.get("primary") if isinstance(row.get("primary"), bool) else None,
        current_balance=money_from_brex(row.get("current_balance")),
        available_balance=money_from_brex(row.get("available_balance")),
        account_number_last_four=number[-4:] if isinstance(number, str) and len(number) >= 4 else None,
    )


def _text(value: Any) -> str | None:
    return (clean(value) or None) if isinstance(value, str) else None


async def list_accounts(
    ctx: Context,
    kind: Annotated[Literal["all", "card", "cash"], Field(description="Which accounts to read")] = "all",
) -> Annotated[CallToolResult, Accounts]:
    client = app_state(ctx).client
    result = Accounts()
    if kind in ("all", "card"):
        with tool_errors():
            response = await client.custom("GET", "/v2/accounts/card")
            rows = parse_page(response.data).items  # Brex sends a bare array here, not a page
        result.card_accounts = [_card_account(r) for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)]
    if kind in ("all", "cash"):
        try:
            response = await client.custom("GET", "/v2/accounts/cash")
            rows = parse_page(response.data).items
            result.cash_accounts = [
                _cash_account(r) for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)
            ]
        except UpstreamError as exc:
            if kind == "cash":
                raise ToolError(exc.describe()) from None
            result.cash_accounts_error = exc.describe()
    return structured(result)


TOOLS = [
    ToolSpec(
        list_accounts,
        title="List Brex accounts and balances",
        description=(
            "The company's Brex card accounts (current balance owed, available to spend, limit, current statement "
            "period) and cash accounts (name, primary or not, current and available balance, last four digits of "
            "the account number). Money is integer minor units plus currency and a display string. With "
            "kind=all, a cash-account failure (often: Brex Cash not enabled) is reported in cash_accounts_error "
            "while card accounts are still returned. For one person's monthly limit and what is left, use "
            "get_user."
        ),
        annotations=READ,
    ),
]
