"""Card tools: freezing (Brex calls it locking) a card, with the human asked first where the client can."""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from ..errors import UpstreamError
from ..models import Card, card_from_brex
from ..output import Output
from .inputs import BrexId
from .registry import ToolSpec, app_state, expect_object, structured, tool_errors

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
        description="Optional note for the card owner and audit trail; printable ASCII only, up to 300 characters",
    ),
]


class FreezeConfirmation(BaseModel):
    confirm: bool = Field(description="Lock this card now?")


class Consent(StrEnum):
    """Why a freeze went ahead without a yes from the human in this call."""

    NOT_NEEDED = "not_needed"  # already locked: nothing to ask about
    CLIENT_CANNOT_ASK = "client_cannot_ask"  # no elicitation; the host's approval of the tool call applies


class FreezeResult(Output):
    card: Card
    previous_status: str | None = None
    status: str | None = None
    changed: bool = Field(description="False when the card was already locked and nothing was sent")
    confirmation: Literal["confirmed_by_user", "not_needed", "client_cannot_ask"]
    idempotency_key: str | None = Field(default=None, description="Sent with the lock request; absent if none was sent")
    message: str


async def _load_card(card_id: str, ctx: Context) -> dict[str, Any]:
    with tool_errors():
        response = await app_state(ctx).client.custom("GET", f"/v2/cards/{card_id}")
        card = expect_object(response.data, "card")
    if card.get("status") == "TERMINATED":
        raise ToolError(f"Card {card_id} is TERMINATED; a terminated card cannot be locked or used again.")
    return card


async def _owner_name(card: dict[str, Any], ctx: Context) -> str:
    owner = card.get("owner") if isinstance(card.get("owner"), dict) else {}
    user_id = owner.get("user_id")
    if not isinstance(user_id, str):
        return "an unknown owner"
    try:
        response = await app_state(ctx).client.unified(f"/users/{user_id}")
    except UpstreamError as exc:  # the question still names the owner by id
        log.warning("could not read the owner of card %s for the confirmation: %s", card.get("id"), exc.kind)
        return f"user {user_id}"
    data = response.data if isinstance(response.data, dict) else {}
    name = data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return f"{name} ({user_id})" if name else f"user {user_id}"


def can_elicit(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _confirm_freeze(
    card: Annotated[dict[str, Any], Resolve(_load_card)], reason: str, ctx: Context
) -> Elicit[FreezeConfirmation] | Consent:
    if card.get("status") == "LOCKED":
        return Consent.NOT_NEEDED
    if not can_elicit(ctx):
        return Consent.CLIENT_CANNOT_ASK
    owner = await _owner_name(card, ctx)
    question = (
        f"Lock Brex card ending {card.get('last_four') or '????'} ({card.get('card_name') or 'unnamed'}) "
        f"of {owner}? Reason: {reason}. New purchases on it will be declined until it is unlocked."
    )
    return Elicit(question, FreezeConfirmation)


async def freeze_card(
    ctx: Context,
    card_id: BrexId,
    reason: Annotated[LockReason, Field(description="Brex's lock reason; use FRAUD for a stolen card")],
    card: Annotated[dict[str, Any], Resolve(_load_card)],
    confirmation: Annotated[ElicitationResult[FreezeConfirmation | Consent], Resolve(_confirm_freeze)],
    description: AsciiText = None,
) -> Annotated[CallToolResult, FreezeResult]:
    previous = card.get("status")
    if not isinstance(confirmation, AcceptedElicitation):
        raise ToolError(f"The user did not confirm ({confirmation.action}); card {card_id} was not locked.")
    consent = confirmation.data
    if isinstance(consent, FreezeConfirmation):
        if not consent.confirm:
            raise ToolError(f"The user answered no; card {card_id} was not locked.")
        consent_label = "confirmed_by_user"
    else:
        consent_label = Consent(consent).value
    if previous == "LOCKED":
        return structured(
            FreezeResult(
                card=card_from_brex(card),
                previous_status=previous,
                status=previous,
                changed=False,
                confirmation=consent_label,  # type: ignore[arg-type]
                message=f"Card {card_id} was already locked; nothing was sent.",
            )
        )
    body: dict[str, Any] = {"reason": reason}
    if description:
        body["description"] = description
    key = str(uuid.uuid4())
    with tool_errors():
        response = await app_state(ctx).client.custom(
            "POST", f"/v2/cards/{card_id}/lock", json_body=body, idempotency_key=key
        )
        locked = expect_object(response.data, "card")
    after = card_from_brex(locked)
    return structured(
        FreezeResult(
            card=after,
            previous_status=previous,
            status=after.status,
            changed=True,
            confirmation=consent_label,  # type: ignore[arg-type]
            idempotency_key=key,
            message=f"Card {card_id} is now {after.status or 'locked'} (was {previous}).",
        )
    )


TOOLS = [
    ToolSpec(
        freeze_card,
        title="Freeze (lock) a Brex card",
        description=(
            "Lock a Brex card so new purchases are declined, e.g. a lost or stolen card (reason FRAUD or "
            "CARD_LOST) or a leaver's card (OTHER). Reversible: a locked card can be unlocked in Brex. "
            "Reads the card first: an already locked card is reported and left alone; a terminated card is "
            "an error. Where the client supports it, the user is asked to confirm first and a 'no' locks "
            "nothing. Returns the previous and new status."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
