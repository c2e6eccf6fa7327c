"""Card tools: freezing (Brex calls it locking) a card, with the human asked first where policy and client allow."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..errors import UpstreamError
from ..models import Card, card_from_brex
from ..output import Output
from ..text import clean
from .inputs import BrexId
from .registry import ToolSpec, app_state, expect_object, structured
from .writes import Consent, PlannedRequest, WriteConfirmation, ask, consent_of, send_write

log = logging.getLogger(__name__)

LockReason = Literal[
    "CARD_DAMAGED",
    "CARD_LOST",
    "CARD_NOT_RECEIVED",
    "DO_NOT_NEED_PHYSICAL_CARD",
    "DO_NOT_NEED_VIRTUAL_CARD",
    "FRAUD",
    "OTHER",
]
# Brex accepts only printable ASCII in free-text fields.
AsciiText = Annotated[
    str | None,
    Field(
        default=None,
        max_length=300,
        pattern=r"^[\x20-\x7E]*$",
        description="Optional note for the card owner and the audit trail; printable ASCII, up to 300 characters",
    ),
]
DryRun = Annotated[bool, Field(description="Only show the request that would be sent and the card's state")]


class CardChange(Output):
    """What freezing or unfreezing a card did (or, in a dry run, would do)."""

    card: Card
    previous_status: str | None = None
    status: str | None = None
    changed: bool = Field(description="True only when the request was sent and Brex applied it")
    dry_run: bool = False
    would_send: PlannedRequest | None = Field(default=None, description="Dry run: the exact request, not sent")
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask", "not_asked_by_policy"]
    idempotency_key: str | None = Field(default=None, description="Sent with the request")
    message: str


def _arguments(card_id: str, reason: str, description: str | None, dry_run: bool) -> dict[str, Any]:
    return {"card_id": card_id, "reason": reason, "description": description, "dry_run": dry_run}


async def _load_card(card_id: str, reason: str, description: str | None, dry_run: bool, ctx: Context) -> dict[str, Any]:
    state = app_state(ctx)
    arguments = _arguments(card_id, reason, description, dry_run)
    try:
        response = await state.client.custom("GET", f"/v2/cards/{card_id}")
        card = expect_object(response.data, "card")
    except UpstreamError as exc:
        state.audit.record(
            "freeze_card",
            arguments,
            "failed",
            http_status=exc.status,
            brex_trace_id=exc.trace_id,
            detail=f"reading the card: {exc.kind}",
        )
        raise ToolError(exc.describe()) from None
    if card.get("status") == "TERMINATED":
        state.audit.record("freeze_card", arguments, "refused", detail="card is terminated")
        raise ToolError(f"Card {card_id} is TERMINATED; a terminated card cannot be locked or used again.")
    return card


async def _owner_name(card: dict[str, Any], ctx: Context) -> str:
    owner = card.get("owner") if isinstance(card.get("owner"), dict) else {}
    user_id = owner.get("user_id")
    if not isinstance(user_id, str):
        return "an unknown owner"
    try:
        response = await app_state(ctx).client.unified(f"/users/{user_id}")
    except UpstreamError as exc:  # the question still names the owner, by id
        log.warning("could not read the owner of card %s for the confirmation: %s", card.get("id"), exc.kind)
        return f"user {user_id}"
    data = response.data if isinstance(response.data, dict) else {}
    name = data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return f"{clean(name)} ({user_id})" if isinstance(name, str) and name else f"user {user_id}"


async def _confirm_freeze(
    card: Annotated[dict[str, Any], Resolve(_load_card)],
    card_id: str,
    reason: str,
    description: str | None,
    dry_run: bool,
    ctx: Context,
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run or card.get("status") == "LOCKED":
        return Consent.NOT_NEEDED
    owner = await _owner_name(card, ctx)
    last_four = clean(str(card.get("last_four") or "????"))
    name = clean(str(card.get("card_name") or ""))
    label = f" ({name})" if name and not owner.startswith(name) else ""
    return ask(
        ctx,
        f"Lock Brex card ending {last_four}{label} of {owner}? Reason: {reason}. "
        "New purchases on it will be declined until it is unlocked.",
        "freeze_card",
        _arguments(card_id, reason, description, dry_run),
    )


async def freeze_card(
    ctx: Context,
    card_id: BrexId,
    reason: Annotated[LockReason, Field(description="Brex's lock reason; use FRAUD for a stolen card")],
    card: Annotated[dict[str, Any], Resolve(_load_card)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_freeze)],
    description: AsciiText = None,
    dry_run: DryRun = False,
) -> Annotated[CallToolResult, CardChange]:
    body: dict[str, Any] = {"reason": reason}
    if description:
        body["description"] = description
    return await apply_card_change(
        ctx,
        tool="freeze_card",
        action="lock",
        card_id=card_id,
        card=card,
        confirmation=confirmation,
        arguments=_arguments(card_id, reason, description, dry_run),
        dry_run=dry_run,
        no_op=("already locked", "already locked") if card.get("status") == "LOCKED" else None,
        body=body,
    )


async def apply_card_change(
    ctx: Context,
    *,
    tool: str,
    action: Literal["lock", "unlock"],
    card_id: str,
    card: dict[str, Any],
    confirmation: ElicitationResult[Any],
    arguments: dict[str, Any],
    dry_run: bool,
    no_op: tuple[str, str] | None,
    body: dict[str, Any] | None = None,
) -> CallToolResult:
    """The steps locking and unlocking share, each audited: consent, nothing to do, dry run, or the request.

    `no_op` is (what the card is, the audit detail) when the card is already where the change would put it.
    """
    state = app_state(ctx)
    previous = card.get("status")
    done = f"{action}ed"
    consent = consent_of(confirmation)
    if consent is None:
        state.audit.record(tool, arguments, "declined", detail=f"elicitation {confirmation.action}")
        raise ToolError(f"The user did not confirm; card {card_id} was not {done} and nothing was sent.")
    before = card_from_brex(card)
    unchanged = {"card": before, "previous_status": previous, "status": previous, "changed": False}
    if no_op is not None:
        state.audit.record(tool, arguments, "no_op", detail=no_op[1])
        message = f"Card {card_id} is {no_op[0]}; nothing was sent."
        return structured(CardChange(**unchanged, dry_run=dry_run, confirmation=consent.value, message=message))
    path = f"/v2/cards/{card_id}/{action}"
    if dry_run:
        state.audit.record(tool, arguments, "dry_run")
        return structured(
            CardChange(
                **unchanged,
                dry_run=True,
                would_send=PlannedRequest(method="POST", path=path, body=body),
                confirmation=consent.value,
                message=f"Dry run: card {card_id} is {previous}; this {action} request would be sent. "
                "Nothing was sent.",
            )
        )
    response, key = await send_write(ctx, tool, arguments, consent, "POST", path, body=body)
    after = card_from_brex(expect_card(response.data, action))
    return structured(
        CardChange(
            card=after,
            previous_status=previous,
            status=after.status,
            changed=True,
            confirmation=consent.value,
            idempotency_key=key,
            message=f"Card {card_id} is now {after.status or done} (was {previous}).",
        )
    )


def expect_card(data: Any, action: str = "lock") -> dict[str, Any]:
    try:
        return expect_object(data, "card")
    except UpstreamError as exc:  # the change was applied; only the reply is unreadable
        raise ToolError(exc.describe(f"The {action} request itself succeeded.")) from None


TOOLS = [
    ToolSpec(
        freeze_card,
        title="Freeze (lock) a Brex card",
        description=(
            "Lock a Brex card so new purchases are declined, e.g. a lost or stolen card (reason FRAUD or "
            "CARD_LOST) or a leaver's card (OTHER). Reversible: a locked card can be unlocked in Brex. "
            "Reads the card first: an already locked card is reported and left alone; a terminated card is "
            "an error. The user may be asked to confirm; a 'no' locks nothing. dry_run=true shows the exact "
            "request and the card's state without sending anything. Returns the previous and new status."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
