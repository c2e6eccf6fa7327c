"""Offboarding a leaver: lock every card that can still spend, one confirmation for the batch, per-card outcomes.

Each lock is its own write through `send_write` (Idempotency-Key, audit line, key kept after an unknown
outcome), so calling the tool again after a failure locks only what is still unlocked and never twice.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..errors import UpstreamError
from ..output import Output
from ..pagination import Page, Position, parse_page, scan
from ..text import clean
from .cards import AsciiText, DryRun, LockReason
from .registry import ToolSpec, app_state, structured
from .writes import Consent, PlannedRequest, WriteConfirmation, ask, consent_of, send_write

TOOL = "offboard_user"
CAN_SPEND = ("ACTIVE", "SHIPPED")  # a shipped card becomes usable once activated
CARD_PAGE = 100
MAX_CARD_PAGES = 10
QUESTION_CARDS = 10  # cards named in the confirmation question; the rest are counted

UserRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=320,
        pattern=r"^(?:[A-Za-z0-9_-]{1,128}|[^@\s/?#]+@[^@\s/?#]+\.[^@\s/?#]+)$",
        description="The leaver's Brex user id or email address",
    ),
]

CardOutcome = Literal["locked", "already_locked", "terminated", "would_lock", "failed"]
UserOutcome = Literal["disabled", "already_disabled", "would_disable", "failed", "not_requested", "not_possible"]


class OffboardedCard(Output):
    id: str
    last_four: str | None = None
    card_name: str | None = None
    card_type: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    outcome: CardOutcome = Field(
        description="locked: lock sent and applied; already_locked/terminated: left alone; would_lock: dry run; "
        "failed: see error, the card may still spend"
    )
    error: str | None = None
    idempotency_key: str | None = None


class OffboardedUser(Output):
    id: str
    name: str | None = None
    email: str | None = None
    status_before: str | None = Field(default=None, description="Brex's status: ACTIVE, DISABLED, ...")
    status_after: str | None = None
    disable: UserOutcome
    error: str | None = None


class OffboardCounts(Output):
    locked: int = 0
    already_locked: int = 0
    terminated: int = 0
    would_lock: int = 0
    failed: int = 0


class OffboardResult(Output):
    user: OffboardedUser
    cards: list[OffboardedCard]
    counts: OffboardCounts
    complete: bool = Field(
        description="True when every card that could spend is locked (and the user disabled, "
        "if asked); false means something failed or this was a dry run"
    )
    dry_run: bool = False
    would_send: list[PlannedRequest] | None = Field(default=None, description="Dry run: the exact requests, not sent")
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    message: str


def _arguments(user: str, reason: str, description: str | None, disable_user: bool, dry_run: bool) -> dict[str, Any]:
    return {
        "user": user,
        "reason": reason,
        "description": description,
        "disable_user": disable_user,
        "dry_run": dry_run,
    }


async def _plan(
    user: str, reason: str, description: str | None, disable_user: bool, dry_run: bool, ctx: Context
) -> dict[str, Any]:
    """The leaver and every card they own, read before anything is asked or sent."""
    state = app_state(ctx)
    try:
        person = await state.directory.find_user(user)
        user_id = str(person["id"])

        async def fetch(position: Position) -> Page:
            params: dict[str, Any] = {"limit": CARD_PAGE, "user_id": user_id}
            if position.cursor is not None:
                params[position.param] = position.cursor
            return parse_page((await state.client.custom("GET", "/v2/cards", params=params)).data)

        found = await scan(fetch, start=Position(page_size=CARD_PAGE), want=10**6, max_pages=MAX_CARD_PAGES)
    except UpstreamError as exc:
        state.audit.record(
            TOOL,
            _arguments(user, reason, description, disable_user, dry_run),
            "failed",
            http_status=exc.status,
            brex_trace_id=exc.trace_id,
            detail=f"reading the user and cards: {exc.kind}",
        )
        raise ToolError(exc.describe()) from None
    if found.has_more:
        raise ToolError(f"User {user_id} has more than {CARD_PAGE * MAX_CARD_PAGES} cards; offboard them in Brex.")
    cards = [c for c in found.rows if isinstance(c, dict) and isinstance(c.get("id"), str)]
    cards = [c for c in cards if (c.get("owner") or {}).get("user_id") == user_id]  # never touch someone else's
    return {"user": person, "cards": cards}


def _name(person: dict[str, Any]) -> str:
    name = " ".join(clean(str(person.get(k) or "")) for k in ("first_name", "last_name")).strip()
    return name or str(person.get("id"))


def _label(card: dict[str, Any]) -> str:
    return f"ending {clean(str(card.get('last_four') or '????'))} ({clean(str(card.get('card_name') or 'unnamed'))})"


def _disable_wanted(person: dict[str, Any], disable_user: bool) -> bool:
    return disable_user and person.get("status") not in ("DISABLED", "DELETED")


async def _confirm(
    plan: Annotated[dict[str, Any], Resolve(_plan)],
    user: str,
    reason: str,
    description: str | None,
    disable_user: bool,
    dry_run: bool,
    ctx: Context,
) -> Elicit[WriteConfirmation] | Consent:
    person = plan["user"]
    targets = [c for c in plan["cards"] if c.get("status") in CAN_SPEND]
    disable = _disable_wanted(person, disable_user)
    if dry_run or not (targets or disable):
        return Consent.NOT_NEEDED
    who = f"{_name(person)} ({clean(str(person.get('email') or person['id']))})"
    actions = []
    if targets:
        named = ", ".join(_label(c) for c in targets[:QUESTION_CARDS])
        more = f" and {len(targets) - QUESTION_CARDS} more" if len(targets) > QUESTION_CARDS else ""
        actions.append(f"lock {len(targets)} card{'s' if len(targets) != 1 else ''} ({named}{more})")
    if disable:
        actions.append("disable their Brex user")
    return ask(
        ctx,
        f"Offboard {who}: {' and '.join(actions)}? Reason: {reason}. "
        "Locked cards decline new purchases until unlocked; a disabled user cannot sign in to Brex.",
        TOOL,
        _arguments(user, reason, description, disable_user, dry_run),
    )


async def offboard_user(
    ctx: Context,
    user: UserRef,
    plan: Annotated[dict[str, Any], Resolve(_plan)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm)],
    reason: Annotated[LockReason, Field(description="Brex's lock reason for every card; OTHER for a leaver")] = "OTHER",
    description: AsciiText = None,
    disable_user: Annotated[
        bool, Field(description="Also disable the person's Brex user (PUT status DISABLED); off unless asked")
    ] = False,
    dry_run: DryRun = False,
) -> Annotated[CallToolResult, OffboardResult]:
    state = app_state(ctx)
    arguments = _arguments(user, reason, description, disable_user, dry_run)
    person, cards = plan["user"], plan["cards"]
    user_id = str(person["id"])
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record(TOOL, arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; nothing was locked or changed for {user_id} and nothing was sent.")

    body: dict[str, Any] = {"reason": reason}
    if description:
        body["description"] = description
    targets = [c for c in cards if c.get("status") in CAN_SPEND]
    disable = _disable_wanted(person, disable_user)
    results: list[OffboardedCard] = []
    planned: list[PlannedRequest] = []

    def row(card: dict[str, Any], outcome: CardOutcome, **extra: Any) -> OffboardedCard:
        return OffboardedCard(
            id=card["id"],
            last_four=card.get("last_four"),
            card_name=clean(str(card.get("card_name") or "")) or None,
            card_type=card.get("card_type"),
            status_before=card.get("status"),
            outcome=outcome,
            **extra,
        )

    for card in cards:
        status = card.get("status")
        if status == "LOCKED":
            results.append(row(card, "already_locked", status_after="LOCKED"))
        elif status == "TERMINATED":
            results.append(row(card, "terminated", status_after="TERMINATED"))
    for index, card in enumerate(targets):
        path = f"/v2/cards/{card['id']}/lock"
        if dry_run:
            planned.append(PlannedRequest(method="POST", path=path, body=body))
            results.append(row(card, "would_lock", status_after=card.get("status")))
            continue
        await ctx.report_progress(index, len(targets) + disable, f"locking card {_label(card)}")
        try:
            response, key = await send_write(
                ctx, TOOL, {**arguments, "card_id": card["id"]}, consent, "POST", path, body=body
            )
        except ToolError as exc:
            results.append(row(card, "failed", status_after=card.get("status"), error=str(exc)))
            continue
        after = response.data.get("status") if isinstance(response.data, dict) else None
        results.append(row(card, "locked", status_after=after or "LOCKED", idempotency_key=key))

    user_outcome, user_error, status_after = _user_outcome(person, disable_user, dry_run)
    if disable and dry_run:
        planned.append(PlannedRequest(method="PUT", path=f"/v2/users/{user_id}", body={"status": "DISABLED"}))
    elif disable:
        await ctx.report_progress(len(targets), len(targets) + 1, "disabling the Brex user")
        try:
            response, _key = await send_write(
                ctx,
                TOOL,
                {**arguments, "disable": user_id},
                consent,
                "PUT",
                f"/v2/users/{user_id}",
                body={"status": "DISABLED"},
            )
            user_outcome = "disabled"
            status_after = response.data.get("status") if isinstance(response.data, dict) else "DISABLED"
        except ToolError as exc:
            user_outcome, user_error = "failed", str(exc)

    if dry_run:
        state.audit.record(TOOL, arguments, "dry_run", detail=f"{len(targets)} card(s) would be locked")
    elif not (targets or disable):
        state.audit.record(TOOL, arguments, "no_op", detail="no card can spend and nothing to disable")

    counts = OffboardCounts()
    for result in results:
        setattr(counts, result.outcome, getattr(counts, result.outcome) + 1)
    complete = not dry_run and counts.failed == 0 and user_outcome != "failed"
    return structured(
        OffboardResult(
            user=OffboardedUser(
                id=user_id,
                name=_name(person),
                email=clean(str(person.get("email") or "")) or None,
                status_before=person.get("status"),
                status_after=status_after,
                disable=user_outcome,
                error=user_error,
            ),
            cards=results,
            counts=counts,
            complete=complete,
            dry_run=dry_run,
            would_send=planned if dry_run else None,
            confirmation=consent.value,
            message=_message(_name(person), counts, user_outcome, dry_run),
        )
    )


def _user_outcome(person: dict[str, Any], disable_user: bool, dry_run: bool) -> tuple[UserOutcome, str | None, Any]:
    status = person.get("status")
    if not disable_user:
        return "not_requested", None, status
    if status == "DISABLED":
        return "already_disabled", None, status
    if status == "DELETED":
        return "not_possible", "The Brex user is DELETED; Brex does not change deleted users.", status
    return ("would_disable" if dry_run else "failed"), None, status


def _message(name: str, counts: OffboardCounts, user_outcome: UserOutcome, dry_run: bool) -> str:
    left = f"{counts.already_locked} already locked, {counts.terminated} terminated"
    if dry_run:
        text = f"Dry run for {name}: {counts.would_lock} card(s) would be locked ({left}). Nothing was sent."
        if user_outcome == "would_disable":
            text = text.replace(". Nothing", " and the Brex user would be disabled. Nothing")
        return text
    parts = [f"{counts.locked} card(s) locked", left]
    if counts.failed:
        parts.insert(0, f"FAILED to lock {counts.failed} card(s), which can still spend (see cards[].error)")
    if user_outcome == "failed":
        parts.append("FAILED to disable the Brex user (see user.error)")
    elif user_outcome in ("disabled", "already_disabled", "not_possible"):
        parts.append(f"user {user_outcome.replace('_', ' ')}")
    done = "Incomplete" if counts.failed or user_outcome == "failed" else "Done"
    return f"{done} offboarding {name}: " + "; ".join(parts) + "."


TOOLS = [
    ToolSpec(
        offboard_user,
        title="Offboard a leaver (lock their cards)",
        description=(
            "For someone leaving: find every card of the user (by Brex user id or email) that can still spend "
            "(ACTIVE or SHIPPED) and lock each one, with one confirmation for the whole batch. Cards already "
            "locked or terminated are left alone. disable_user=true also disables their Brex user. Reports per "
            "card what happened; `complete` is false and the message starts with 'Incomplete' when any lock "
            "failed (those cards can still spend; calling again retries only them, safely). dry_run=true lists "
            "the exact requests and sends nothing. Reversible: cards can be unlocked with unfreeze_card."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
