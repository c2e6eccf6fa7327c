"""Provisioning: virtual cards with their own limit, and new-hire onboarding (invite, monthly limit, first card).

Both move money, so both go through tools.writes: the person confirms, dry_run shows the exact
requests, every attempt is audited. Card creation carries an Idempotency-Key derived from the request
itself, so an agent that retries the same issuance (even from a new process) gets one card, not two.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from ..directory import AmbiguousName, Kind
from ..errors import NotFound, UpstreamError
from ..models import Card, card_from_brex
from ..money import Money, MoneyInput, money_from_brex
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..text import clean
from .inputs import ID_PATTERN, Day
from .registry import AccountState, ToolSpec, app_state, structured
from .writes import Consent, PlannedRequest, WriteConfirmation, ask, consent_of, send_write

SpendDuration = Literal["MONTHLY", "QUARTERLY", "YEARLY", "ONE_TIME"]
DURATION_WORDS = {"MONTHLY": "monthly", "QUARTERLY": "quarterly", "YEARLY": "yearly", "ONE_TIME": "one-time"}
LIVE_OWNER_STATUSES = frozenset({"ACTIVE", "INVITED", "PENDING_ACTIVATION"})
NEW_USER = "(id of the user this onboarding invites)"
CARD_PAGE = 100

UserRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=320,
        pattern=r"^([A-Za-z0-9_-]{1,128}|[^@\s]+@[^@\s]+)$",
        description="The user's Brex id (from list_users) or email address",
    ),
]
CardName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[\x20-\x7E]+$",
        description="Name shown on the card in Brex, e.g. 'AWS' or 'Offsite 2027'; printable ASCII",
    ),
]
SpendLimit = Annotated[
    MoneyInput,
    Field(
        description="The card's own limit: {currency, amount} in integer minor units, or {currency, decimal} "
        "as a string like '1500.00'; exact, never rounded"
    ),
]
Duration = Annotated[SpendDuration, Field(description="How often the limit resets; ONE_TIME never resets")]
LockAfter = Annotated[
    Day | None, Field(description="Optional: the card locks itself after this date (YYYY-MM-DD, UTC)")
]
BudgetId = Annotated[
    str | None, Field(pattern=ID_PATTERN, description="Optional Brex budget (spend limit) id the card draws from")
]
DryRun = Annotated[bool, Field(description="Only show the exact requests that would be sent; send nothing")]
PersonName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
DirectoryName = Annotated[str | None, Field(min_length=1, max_length=200)]


class CardWithControls(Card):
    spend_limit: Money | None = None
    spend_available: Money | None = None
    spend_duration: str | None = None
    lock_after_date: str | None = None
    budget_id: str | None = None


def card_with_controls(card: dict[str, Any]) -> CardWithControls:
    """The card as issued: never its number (Brex does not return one here, and we would not pass it on)."""
    base = card_from_brex(card)
    controls = card.get("spend_controls") if isinstance(card.get("spend_controls"), dict) else {}
    return CardWithControls(
        **base.model_dump(),
        spend_limit=money_from_brex(controls.get("spend_limit")),
        spend_available=money_from_brex(controls.get("spend_available")),
        spend_duration=controls.get("spend_duration") if isinstance(controls.get("spend_duration"), str) else None,
        lock_after_date=controls.get("lock_after_date") if isinstance(controls.get("lock_after_date"), str) else None,
        budget_id=card.get("budget_id") if isinstance(card.get("budget_id"), str) else None,
    )


# -- shared by issue_card and onboard_user ----------------------------------------------------------------


def card_body(
    user_id: str, card_name: str, limit: Money, duration: str, lock_after: date | None, budget_id: str | None
) -> dict[str, Any]:
    controls: dict[str, Any] = {
        "spend_limit": {"amount": limit.amount, "currency": limit.currency},
        "spend_duration": duration,
    }
    if lock_after is not None:
        controls["lock_after_date"] = lock_after.isoformat()
    if budget_id is not None:
        controls["parent_budget_id"] = budget_id
    return {
        "owner": {"type": "USER", "user_id": user_id},
        "card_name": card_name,
        "card_type": "VIRTUAL",
        "limit_type": "CARD",
        "spend_controls": controls,
    }


def issuance_key(account_id: str, body: dict[str, Any]) -> str:
    """The same issuance (account, owner, name, limit, controls) always gets the same Idempotency-Key."""
    canonical = json.dumps([account_id, "POST", "/v2/cards", body], sort_keys=True, separators=(",", ":"))
    return str(uuid.UUID(hashlib.sha256(canonical.encode()).hexdigest()[:32]))


def check_card_terms(limit: Money, lock_after: date | None, what: str = "spend_limit") -> None:
    """Terms Brex would refuse, caught before anything is sent."""
    if limit.amount <= 0:
        raise ValueError(f"{what} must be more than zero, got {limit.display or limit.amount}")
    today = datetime.now(UTC).date()
    if lock_after is not None and lock_after < today:
        raise ValueError(f"lock_after_date {lock_after} is in the past (today is {today} UTC)")


def describe_card(card_name: str, limit: Money, duration: str, lock_after: date | None, budget: str | None) -> str:
    text = f"virtual card '{card_name}' with a {DURATION_WORDS[duration]} limit of {limit.display}"
    if lock_after is not None:
        text += f", locking after {lock_after}"
    if budget is not None:
        text += f", drawing on budget {budget}"
    return text


def person(user: dict[str, Any]) -> str:
    name = " ".join(clean(str(user.get(k) or "")) for k in ("first_name", "last_name")).strip() or "unnamed user"
    email = clean(str(user.get("email") or ""))
    return f"{name} ({email})" if email else f"{name} ({user.get('id')})"


def refuse(state: AccountState, tool: str, arguments: dict[str, Any], message: str) -> ToolError:
    message = message.rstrip(".") + "."
    state.audit.record(tool, arguments, "refused", detail=message)
    return ToolError(message + " Nothing was sent.")


async def find_user_or_none(state: AccountState, id_or_email: str) -> dict[str, Any] | None:
    try:
        return await state.directory.find_user(id_or_email)
    except NotFound:
        return None


# -- issue_card ---------------------------------------------------------------------------------------


class IssueCardResult(Output):
    card: CardWithControls | None = Field(default=None, description="The issued card; never its number")
    owner: str = Field(description="Name and email of the card's owner")
    dry_run: bool = False
    would_send: PlannedRequest | None = Field(default=None, description="Dry run: the exact request, not sent")
    idempotency_key: str = Field(description="Derived from the request: the same issuance always sends this key")
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    message: str


def _card_arguments(
    user: str,
    card_name: str,
    spend_limit: MoneyInput,
    spend_duration: str,
    lock_after_date: date | None,
    budget_id: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    return {
        "user": user,
        "card_name": card_name,
        "spend_limit": spend_limit.model_dump(exclude_none=True),
        "spend_duration": spend_duration,
        "lock_after_date": lock_after_date.isoformat() if lock_after_date else None,
        "budget_id": budget_id,
        "dry_run": dry_run,
    }


async def _plan_card(
    user: str,
    card_name: str,
    spend_limit: MoneyInput,
    spend_duration: SpendDuration,
    lock_after_date: date | None,
    budget_id: str | None,
    dry_run: bool,
    ctx: Context,
) -> dict[str, Any]:
    state = app_state(ctx)
    arguments = _card_arguments(user, card_name, spend_limit, spend_duration, lock_after_date, budget_id, dry_run)
    limit = spend_limit.to_money()
    try:
        check_card_terms(limit, lock_after_date)
    except ValueError as exc:
        raise refuse(state, "issue_card", arguments, str(exc)) from None
    try:
        owner = await find_user_or_none(state, user)
    except UpstreamError as exc:
        state.audit.record(
            "issue_card", arguments, "failed", http_status=exc.status, detail=f"finding the owner: {exc.kind}"
        )
        raise ToolError(exc.describe()) from None
    if owner is None:
        raise refuse(
            state,
            "issue_card",
            arguments,
            f"No Brex user has {'email' if '@' in user else 'id'} {user}; find them with list_users.",
        )
    status = str(owner.get("status") or "")
    if status not in LIVE_OWNER_STATUSES:
        raise refuse(
            state,
            "issue_card",
            arguments,
            f"{person(owner)} is {status}; this tool issues cards only to active or invited users.",
        )
    body = card_body(str(owner["id"]), card_name, limit, spend_duration, lock_after_date, budget_id)
    return {"owner": owner, "body": body, "key": issuance_key(state.client.account_id, body), "limit": limit}


async def _confirm_card(
    plan: Annotated[dict[str, Any], Resolve(_plan_card)],
    card_name: str,
    spend_duration: SpendDuration,
    lock_after_date: date | None,
    budget_id: str | None,
    user: str,
    spend_limit: MoneyInput,
    dry_run: bool,
    ctx: Context,
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run:
        return Consent.NOT_NEEDED
    what = describe_card(card_name, plan["limit"], spend_duration, lock_after_date, budget_id)
    return ask(
        ctx,
        f"Issue a new Brex {what} to {person(plan['owner'])}? It can be used for purchases at once.",
        "issue_card",
        _card_arguments(user, card_name, spend_limit, spend_duration, lock_after_date, budget_id, dry_run),
    )


async def issue_card(
    ctx: Context,
    user: UserRef,
    card_name: CardName,
    spend_limit: SpendLimit,
    plan: Annotated[dict[str, Any], Resolve(_plan_card)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_card)],
    spend_duration: Duration = "MONTHLY",
    lock_after_date: LockAfter = None,
    budget_id: BudgetId = None,
    dry_run: DryRun = False,
) -> Annotated[CallToolResult, IssueCardResult]:
    state = app_state(ctx)
    arguments = _card_arguments(user, card_name, spend_limit, spend_duration, lock_after_date, budget_id, dry_run)
    owner = person(plan["owner"])
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record("issue_card", arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; no card was issued to {owner} and nothing was sent.")
    what = describe_card(card_name, plan["limit"], spend_duration, lock_after_date, budget_id)
    if dry_run:
        state.audit.record("issue_card", arguments, "dry_run", idempotency_key=plan["key"])
        return structured(
            IssueCardResult(
                owner=owner,
                dry_run=True,
                would_send=PlannedRequest(method="POST", path="/v2/cards", body=plan["body"]),
                idempotency_key=plan["key"],
                confirmation=consent.value,
                message=f"Dry run: would issue a {what} to {owner}. Nothing was sent.",
            )
        )
    response, key = await send_write(
        ctx, "issue_card", arguments, consent, "POST", "/v2/cards", body=plan["body"], idempotency_key=plan["key"]
    )
    if not isinstance(response.data, dict) or not isinstance(response.data.get("id"), str):
        raise ToolError(
            "Brex accepted the card request but its answer holds no card. Calling again with the same arguments "
            f"sends the same Idempotency-Key ({key}) and returns the card without issuing a second one."
        )
    card = card_with_controls(response.data)
    return structured(
        IssueCardResult(
            card=card,
            owner=owner,
            idempotency_key=key,
            confirmation=consent.value,
            message=f"Issued to {owner} a {what}: card ending {card.last_four}, status {card.status}. Calling "
            "again with the same arguments returns this card instead of issuing another.",
        )
    )


# -- onboard_user -------------------------------------------------------------------------------------


class FirstCard(BaseModel):
    """A first virtual card for the new hire, with its own limit."""

    model_config = ConfigDict(extra="forbid")

    card_name: CardName
    spend_limit: SpendLimit
    spend_duration: Duration = "MONTHLY"
    lock_after_date: LockAfter = None


Step = Literal["invite_user", "set_monthly_limit", "issue_card"]


class StepOutcome(Output):
    step: Step
    outcome: Literal["done", "skipped", "would_send", "failed", "not_attempted"]
    detail: str
    request: PlannedRequest | None = Field(default=None, description="Dry run: the exact request, not sent")


class OnboardResult(Output):
    user_id: str | None = Field(default=None, description="Absent only in a dry run for someone not yet invited")
    user: str
    already_existed: bool = Field(description="True when a Brex user with this email existed before this call")
    steps: list[StepOutcome]
    card: CardWithControls | None = None
    monthly_limit: Money | None = None
    dry_run: bool = False
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    message: str


def _onboard_arguments(
    first_name: str,
    last_name: str,
    email: str,
    department: str | None,
    title: str | None,
    location: str | None,
    manager: str | None,
    monthly_limit: MoneyInput | None,
    card: FirstCard | None,
    dry_run: bool,
) -> dict[str, Any]:
    return {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "department": department,
        "title": title,
        "location": location,
        "manager": manager,
        "monthly_limit": monthly_limit.model_dump(exclude_none=True) if monthly_limit else None,
        "card": card.model_dump(mode="json", exclude_none=True) if card else None,
        "dry_run": dry_run,
    }


async def _directory_id(state: AccountState, kind: Kind, value: str) -> str:
    """A department, title or location given by name (case-insensitive) or by id."""
    names = await state.directory.names(kind)
    if value in names:
        return value
    return await state.directory.id_for(kind, value)


async def _owned_cards(state: AccountState, user_id: str) -> list[dict[str, Any]]:
    async def fetch(position: Position) -> Page:
        params: dict[str, Any] = {"user_id": user_id, "limit": CARD_PAGE}
        if position.cursor is not None:
            params[position.param] = position.cursor
        return parse_page((await state.client.custom("GET", "/v2/cards", params=params)).data)

    result = await scan(fetch, start=Position(page_size=CARD_PAGE), want=10**6, max_pages=20)
    if result.has_more:
        raise ToolError(f"User {user_id} holds more cards than this tool reads; check their cards in Brex first.")
    return result.rows


async def _plan_onboarding(
    first_name: str,
    last_name: str,
    email: str,
    department: str | None,
    title: str | None,
    location: str | None,
    manager: str | None,
    monthly_limit: MoneyInput | None,
    card: FirstCard | None,
    dry_run: bool,
    ctx: Context,
) -> dict[str, Any]:
    """Everything looked up and checked before asking: names to ids, the existing user, what is already done."""
    state = app_state(ctx)
    arguments = _onboard_arguments(
        first_name, last_name, email, department, title, location, manager, monthly_limit, card, dry_run
    )
    limit = monthly_limit.to_money() if monthly_limit else None
    card_limit = card.spend_limit.to_money() if card else None
    if limit is not None and limit.amount < 0:
        raise refuse(state, "onboard_user", arguments, f"monthly_limit must not be negative, got {limit.display}")
    if card is not None and card_limit is not None:
        try:
            check_card_terms(card_limit, card.lock_after_date, "card.spend_limit")
        except ValueError as exc:
            raise refuse(state, "onboard_user", arguments, str(exc)) from None
    try:
        ids: dict[str, str | None] = {}
        for kind, value in (("department", department), ("title", title), ("location", location)):
            ids[f"{kind}_id"] = await _directory_id(state, kind, value) if value else None  # type: ignore[arg-type]
        manager_user = None
        if manager:
            manager_user = await find_user_or_none(state, manager)
            if manager_user is None:
                raise AmbiguousName(f"no Brex user has {'email' if '@' in manager else 'id'} {manager} (manager)")
        existing = await find_user_or_none(state, email)
        current_limit = None
        matching_card = None
        if existing is not None:
            if limit is not None:
                response = await state.client.custom("GET", f"/v2/users/{existing['id']}/limit")
                current_limit = response.data.get("monthly_limit") if isinstance(response.data, dict) else None
            if card is not None:
                wanted = card.card_name.casefold()
                matching_card = next(
                    (
                        c
                        for c in await _owned_cards(state, str(existing["id"]))
                        if str(c.get("card_name", "")).casefold() == wanted and c.get("status") != "TERMINATED"
                    ),
                    None,
                )
    except AmbiguousName as exc:
        raise refuse(state, "onboard_user", arguments, f"Cannot onboard {email}: {exc}.") from None
    except UpstreamError as exc:
        state.audit.record(
            "onboard_user", arguments, "failed", http_status=exc.status, detail=f"looking up: {exc.kind}"
        )
        raise ToolError(exc.describe()) from None

    if existing is not None and card is not None and str(existing.get("status")) not in LIVE_OWNER_STATUSES:
        raise refuse(
            state,
            "onboard_user",
            arguments,
            f"{person(existing)} already exists with status {existing.get('status')}; this tool issues cards only "
            "to active or invited users",
        )
    invite: dict[str, Any] = {"first_name": first_name, "last_name": last_name, "email": email}
    if manager_user is not None:
        invite["manager_id"] = manager_user["id"]
    invite.update({k: v for k, v in ids.items() if v is not None})
    user_id = str(existing["id"]) if existing else NEW_USER
    steps: list[dict[str, Any]] = []
    if existing is None:
        steps.append({"step": "invite_user", "send": True, "method": "POST", "path": "/v2/users", "body": invite})
    else:
        steps.append(
            {
                "step": "invite_user",
                "send": False,
                "detail": f"{person(existing)} already exists (status "
                f"{existing.get('status')}); not invited again and their details were not changed",
            }
        )
    if limit is not None:
        same = (
            isinstance(current_limit, dict)
            and current_limit.get("amount") == limit.amount
            and (current_limit.get("currency") or "USD") == limit.currency
        )
        if same:
            steps.append(
                {"step": "set_monthly_limit", "send": False, "detail": f"monthly limit is already {limit.display}"}
            )
        else:
            steps.append(
                {
                    "step": "set_monthly_limit",
                    "send": True,
                    "method": "POST",
                    "path": f"/v2/users/{user_id}/limit",
                    "body": {"monthly_limit": {"amount": limit.amount, "currency": limit.currency}},
                }
            )
    if card is not None and card_limit is not None:
        if matching_card is not None:
            steps.append(
                {
                    "step": "issue_card",
                    "send": False,
                    "detail": f"already holds card '{clean(str(matching_card.get('card_name')))}' ending "
                    f"{matching_card.get('last_four')} ({matching_card.get('id')}); no second card issued",
                    "card": matching_card,
                }
            )
        else:
            body = card_body(user_id, card.card_name, card_limit, card.spend_duration, card.lock_after_date, None)
            steps.append({"step": "issue_card", "send": True, "method": "POST", "path": "/v2/cards", "body": body})
    return {
        "existing": existing,
        "steps": steps,
        "limit": limit,
        "card_limit": card_limit,
        "manager": person(manager_user) if manager_user else None,
    }


def _onboarding_question(
    plan: dict[str, Any], first_name: str, last_name: str, email: str, card: FirstCard | None
) -> str:
    who = f"{first_name} {last_name} ({email})"
    parts = []
    for step in plan["steps"]:
        if not step["send"]:
            continue
        if step["step"] == "invite_user":
            text = f"invite {who} to Brex"
            if plan["manager"]:
                text += f", reporting to {plan['manager']}"
            parts.append(text)
        elif step["step"] == "set_monthly_limit":
            parts.append(f"set {who}'s monthly limit to {plan['limit'].display}")
        elif step["step"] == "issue_card" and card is not None:
            what = describe_card(card.card_name, plan["card_limit"], card.spend_duration, card.lock_after_date, None)
            parts.append(f"issue them a {what}")
    return "Onboarding: " + "; ".join(parts) + "?"


async def _confirm_onboarding(
    plan: Annotated[dict[str, Any], Resolve(_plan_onboarding)],
    first_name: str,
    last_name: str,
    email: str,
    department: str | None,
    title: str | None,
    location: str | None,
    manager: str | None,
    monthly_limit: MoneyInput | None,
    card: FirstCard | None,
    dry_run: bool,
    ctx: Context,
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run or not any(step["send"] for step in plan["steps"]):
        return Consent.NOT_NEEDED
    arguments = _onboard_arguments(
        first_name, last_name, email, department, title, location, manager, monthly_limit, card, dry_run
    )
    return ask(ctx, _onboarding_question(plan, first_name, last_name, email, card), "onboard_user", arguments)


async def onboard_user(
    ctx: Context,
    first_name: Annotated[PersonName, Field(description="Given name")],
    last_name: Annotated[PersonName, Field(description="Family name")],
    email: Annotated[
        str,
        Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Work email; the invite goes here"),
    ],
    plan: Annotated[dict[str, Any], Resolve(_plan_onboarding)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_onboarding)],
    department: Annotated[DirectoryName, Field(description="Department name (or id), e.g. 'Engineering'")] = None,
    title: Annotated[DirectoryName, Field(description="Job title name (or id), e.g. 'Software Engineer'")] = None,
    location: Annotated[DirectoryName, Field(description="Office location name (or id), e.g. 'London'")] = None,
    manager: Annotated[
        str | None,
        Field(min_length=1, max_length=320, description="The manager's Brex user id or email"),
    ] = None,
    monthly_limit: Annotated[
        MoneyInput | None,
        Field(
            description="Optional monthly spend limit for the user: {currency, amount} minor units or "
            "{currency, decimal} like '2500.00'"
        ),
    ] = None,
    card: Annotated[FirstCard | None, Field(description="Optional first virtual card with its own limit")] = None,
    dry_run: DryRun = False,
) -> Annotated[CallToolResult, OnboardResult]:
    state = app_state(ctx)
    arguments = _onboard_arguments(
        first_name, last_name, email, department, title, location, manager, monthly_limit, card, dry_run
    )
    existing = plan["existing"]
    who = person(existing) if existing else f"{first_name} {last_name} ({email})"
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record("onboard_user", arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; {who} was not onboarded and nothing was sent.")
    steps = plan["steps"]
    if dry_run:
        state.audit.record("onboard_user", arguments, "dry_run")
        outcomes = [
            StepOutcome(
                step=s["step"],
                outcome="would_send",
                detail="would be sent",
                request=PlannedRequest(method=s["method"], path=s["path"], body=s["body"]),
            )
            if s["send"]
            else StepOutcome(step=s["step"], outcome="skipped", detail=s["detail"])
            for s in steps
        ]
        return structured(
            OnboardResult(
                user_id=str(existing["id"]) if existing else None,
                user=who,
                already_existed=existing is not None,
                steps=outcomes,
                dry_run=True,
                confirmation=consent.value,
                message=f"Dry run for {who}: {sum(s['send'] for s in steps)} request(s) would be sent. "
                "Nothing was sent.",
            )
        )
    if not any(s["send"] for s in steps):
        state.audit.record("onboard_user", arguments, "no_op", detail="every step was already done")
    user_id = str(existing["id"]) if existing else None
    outcomes: list[StepOutcome] = []
    issued: dict[str, Any] | None = None
    new_limit: Money | None = None
    for index, s in enumerate(steps):
        if not s["send"]:
            outcomes.append(StepOutcome(step=s["step"], outcome="skipped", detail=s["detail"]))
            if s["step"] == "issue_card":
                issued = s.get("card")
            continue
        body = _with_user_id(s["body"], user_id)
        path = s["path"].replace(NEW_USER, user_id or NEW_USER)
        key = issuance_key(state.client.account_id, body) if s["step"] == "issue_card" else None
        try:
            response, _ = await send_write(
                ctx,
                "onboard_user",
                {**arguments, "step": s["step"]},
                consent,
                s["method"],
                path,
                body=body,
                idempotency_key=key,
            )
        except ToolError as exc:
            outcomes.append(StepOutcome(step=s["step"], outcome="failed", detail=str(exc)))
            outcomes += [
                StepOutcome(step=r["step"], outcome="not_attempted", detail="stopped after the failure")
                for r in steps[index + 1 :]
            ]
            raise ToolError(_stopped_message(who, outcomes)) from None
        if s["step"] == "invite_user":
            if not isinstance(response.data, dict) or not isinstance(response.data.get("id"), str):
                raise ToolError(
                    f"Brex accepted the invitation of {who} but answered without the user; nothing else was "
                    "sent. Calling again finds the user by email and continues."
                )
            user_id = response.data["id"]
            outcomes.append(StepOutcome(step="invite_user", outcome="done", detail=f"invited; user id {user_id}"))
        elif s["step"] == "set_monthly_limit":
            new_limit = plan["limit"]
            outcomes.append(
                StepOutcome(
                    step="set_monthly_limit", outcome="done", detail=f"monthly limit set to {plan['limit'].display}"
                )
            )
        else:
            issued = response.data if isinstance(response.data, dict) else None
            last_four = issued.get("last_four") if issued else "????"
            outcomes.append(StepOutcome(step="issue_card", outcome="done", detail=f"issued card ending {last_four}"))
    done = [o.step for o in outcomes if o.outcome == "done"]
    message = f"{who}: " + (", ".join(done) + " done" if done else "nothing needed doing")
    skipped = [o.step for o in outcomes if o.outcome == "skipped"]
    if skipped:
        message += f"; already in place: {', '.join(skipped)}"
    return structured(
        OnboardResult(
            user_id=user_id,
            user=who,
            already_existed=existing is not None,
            steps=outcomes,
            card=card_with_controls(issued) if issued and isinstance(issued.get("id"), str) else None,
            monthly_limit=new_limit,
            confirmation=consent.value,
            message=message + ".",
        )
    )


def _with_user_id(body: dict[str, Any], user_id: str | None) -> dict[str, Any]:
    """Put the invited user's id where the plan had to leave a placeholder."""
    if user_id is None:
        return body
    text = json.dumps(body).replace(json.dumps(NEW_USER), json.dumps(user_id))
    return json.loads(text)


def _stopped_message(who: str, outcomes: list[StepOutcome]) -> str:
    done = [f"{o.step} ({o.detail})" for o in outcomes if o.outcome in ("done", "skipped")]
    failed = next(o for o in outcomes if o.outcome == "failed")
    left = [o.step for o in outcomes if o.outcome == "not_attempted"]
    text = f"Onboarding of {who} stopped at {failed.step}: {failed.detail} "
    text += f"Done: {'; '.join(done) if done else 'nothing'}. Not done: {', '.join([failed.step, *left])}. "
    text += "Calling onboard_user again with the same arguments finds what is already done and does only the rest."
    return text


TOOLS = [
    ToolSpec(
        issue_card,
        title="Issue a virtual Brex card",
        description=(
            "Issue a new virtual card with its own spend limit (Brex limit type CARD) to a user given by id or "
            "email, e.g. for an approved purchase or a vendor subscription. spend_limit is exact money: "
            "{currency, amount} in integer minor units (USD 150000 = 1,500.00) or {currency, decimal: '1500.00'}; "
            "more decimals than the currency has is an error. spend_duration says when the limit resets. "
            "Retrying with the same arguments returns the same card (a stable Idempotency-Key), never a second "
            "one; to issue a second identical card, give it another card_name. The user may be asked to "
            "confirm; dry_run=true shows the exact request. Returns the card's id, last four, limit and status, "
            "never its number."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    ),
    ToolSpec(
        onboard_user,
        title="Onboard a new hire in Brex",
        description=(
            "Invite a new employee to Brex and optionally set their monthly limit and issue a first virtual "
            "card, in one confirmed step. department, title and location are names as shown in Brex (an "
            "unknown or ambiguous name is an error listing close matches); manager is a user id or email. "
            "If a user with the email already exists, it is reported and not invited again, and steps already "
            "in place (same monthly limit, a card with the same name) are skipped, so calling again after a "
            "failure finishes the job without doing anything twice. Each step's outcome is reported. "
            "dry_run=true shows every request without sending any. Money as in issue_card."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
