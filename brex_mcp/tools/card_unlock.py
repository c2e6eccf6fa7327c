"""Unfreezing (Brex: unlocking) a card, with the same safety as freezing: read first, confirm, dry run, audit."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations

from ..errors import UpstreamError
from ..text import clean
from .cards import CardChange, DryRun, apply_card_change
from .inputs import BrexId
from .registry import ToolSpec, app_state, expect_object
from .writes import Consent, WriteConfirmation, ask

TOOL = "unfreeze_card"


def _arguments(card_id: str, dry_run: bool) -> dict[str, Any]:
    return {"card_id": card_id, "dry_run": dry_run}


async def _load_card(card_id: str, dry_run: bool, ctx: Context) -> dict[str, Any]:
    state = app_state(ctx)
    try:
        response = await state.client.custom("GET", f"/v2/cards/{card_id}")
        card = expect_object(response.data, "card")
    except UpstreamError as exc:
        state.audit.record(
            TOOL,
            _arguments(card_id, dry_run),
            "failed",
            http_status=exc.status,
            brex_trace_id=exc.trace_id,
            detail=f"reading the card: {exc.kind}",
        )
        raise ToolError(exc.describe()) from None
    if card.get("status") == "TERMINATED":
        state.audit.record(TOOL, _arguments(card_id, dry_run), "refused", detail="card is terminated")
        raise ToolError(f"Card {card_id} is TERMINATED; a terminated card cannot be unlocked or used again.")
    return card


async def _confirm_unfreeze(
    card: Annotated[dict[str, Any], Resolve(_load_card)], card_id: str, dry_run: bool, ctx: Context
) -> Elicit[WriteConfirmation] | Consent:
    if dry_run or card.get("status") != "LOCKED":
        return Consent.NOT_NEEDED
    owner = card.get("owner") if isinstance(card.get("owner"), dict) else {}
    owner_id = owner.get("user_id")
    owner_name = None
    if isinstance(owner_id, str):
        try:
            owner_name = await app_state(ctx).directory.person_name(owner_id)
        except UpstreamError:  # the question still names the owner, by id
            owner_name = None
    who = f"{owner_name} ({owner_id})" if owner_name else (f"user {owner_id}" if owner_id else "an unknown owner")
    last_four = clean(str(card.get("last_four") or "????"))
    name = clean(str(card.get("card_name") or "unnamed card"))
    return ask(
        ctx,
        f"Unlock Brex card ending {last_four} ({name}) of {who}? Purchases on it will be accepted again.",
        TOOL,
        _arguments(card_id, dry_run),
    )


async def unfreeze_card(
    ctx: Context,
    card_id: BrexId,
    card: Annotated[dict[str, Any], Resolve(_load_card)],
    confirmation: Annotated[ElicitationResult[WriteConfirmation | Consent], Resolve(_confirm_unfreeze)],
    dry_run: DryRun = False,
) -> Annotated[CallToolResult, CardChange]:
    previous = card.get("status")
    return await apply_card_change(
        ctx,
        tool=TOOL,
        action="unlock",
        card_id=card_id,
        card=card,
        confirmation=confirmation,
        arguments=_arguments(card_id, dry_run),
        dry_run=dry_run,
        no_op=None if previous == "LOCKED" else (f"{previous}, not locked", f"card is {previous}, not locked"),
    )


TOOLS = [
    ToolSpec(
        unfreeze_card,
        title="Unfreeze (unlock) a Brex card",
        description=(
            "Unlock a locked Brex card so purchases are accepted again, e.g. a card found after being reported "
            "lost. Reads the card first: a card that is not locked is reported and left alone; a terminated card "
            "is an error (terminating is permanent). The user may be asked to confirm; a 'no' unlocks nothing. "
            "dry_run=true shows the exact request and the card's state without sending anything. Returns the "
            "previous and new status."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
