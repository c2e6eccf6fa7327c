"""What every write shares: the confirmation policy, idempotency keys that survive an unknown outcome, audit.

A write is confirmed by the human through elicitation where the client supports it (policy `auto`),
refused where it cannot ask (policy `always`), or sent on the host's approval alone (policy `never`).
A model-supplied "confirm" argument is not consent, so there is none.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ..errors import AccountBlocked, OutcomeUnknown, UpstreamError
from ..idempotency import fingerprint
from ..output import Output
from ..truto import Response
from .registry import app_state

UNKNOWN_OUTCOME_STATUSES = frozenset({500, 502, 503, 504})


class PlannedRequest(Output):
    """A dry run's answer: exactly what would be sent to Brex."""

    method: str
    path: str = Field(description="Brex API path")
    query: dict[str, Any] | None = None
    body: Any = None


class WriteConfirmation(BaseModel):
    confirm: bool = Field(description="Go ahead?")


class Consent(StrEnum):
    """How a write came to be allowed, recorded in the result and the audit log."""

    CONFIRMED = "confirmed_by_user"
    NOT_NEEDED = "not_needed"  # nothing would be changed (already locked, dry run, a read)
    CLIENT_CANNOT_ASK = "client_cannot_ask"  # policy auto, no elicitation: the host's approval applies
    POLICY_NEVER = "not_asked_by_policy"  # --confirm-writes never


MODERN_PROTOCOL = "2026-07-28"  # asks by returning input_required: needs no back-channel


def can_elicit(ctx: Context) -> bool:
    """The client declared form elicitation and this connection can carry the question.

    Older protocol versions ask with a server-to-client request, which a stateless HTTP server cannot send.
    """
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    return (version is not None and version >= MODERN_PROTOCOL) or bool(ctx.session.can_send_request)


def ask(ctx: Context, question: str, tool: str, arguments: dict[str, Any]) -> Elicit[WriteConfirmation] | Consent:
    """The policy's answer, or the question to put to the human. The question must be deterministic."""
    state = app_state(ctx)
    policy = state.settings.confirm_writes
    if policy == "never":
        return Consent.POLICY_NEVER
    if can_elicit(ctx):
        return Elicit(question, WriteConfirmation)
    if policy == "always":
        state.audit.record(tool, arguments, "refused", detail="confirmation required but the client cannot ask")
        raise ToolError(
            "This server requires a person to confirm every write (--confirm-writes always), and this client "
            "cannot ask (it does not support MCP elicitation). Nothing was sent. Use a client that supports "
            "elicitation, or have the operator run brex-mcp with --confirm-writes auto."
        )
    return Consent.CLIENT_CANNOT_ASK


def consent_of(confirmation: ElicitationResult[Any]) -> Consent | None:
    """The consent given, or None when the human said no, declined or cancelled."""
    if not isinstance(confirmation, AcceptedElicitation):
        return None
    answer = confirmation.data
    if isinstance(answer, WriteConfirmation):
        return Consent.CONFIRMED if answer.confirm else None
    return Consent(answer)


async def send_write(
    ctx: Context,
    tool: str,
    arguments: dict[str, Any],
    consent: Consent,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    idempotency_key: str | None = None,
) -> tuple[Response, str]:
    """Send one write with an Idempotency-Key and audit its outcome; upstream failures become ToolErrors.

    `idempotency_key` is for writes whose key must be derived from the request itself (card issuance:
    the same issuance asked twice, even by a new process, must reach Brex with the same key); otherwise
    a fresh key is made, and kept only while the outcome is unknown.
    """
    state = app_state(ctx)
    print_ = fingerprint(method, path, params, body)
    if idempotency_key is not None:
        key, reused = idempotency_key, False
    else:
        key, reused = state.keys.key_for(print_)
    audited = {**arguments, "confirmation": consent.value}
    try:
        response = await state.client.custom(method, path, params=params, json_body=body, idempotency_key=key)
    except UpstreamError as exc:
        unknown = isinstance(exc, OutcomeUnknown) or (
            exc.status in UNKNOWN_OUTCOME_STATUSES and not isinstance(exc, AccountBlocked)
        )
        if unknown:
            state.keys.remember(print_, key)
        else:
            state.keys.forget(print_)
        state.audit.record(
            tool,
            audited,
            "unknown" if unknown else "failed",
            idempotency_key=key,
            http_status=exc.status,
            brex_trace_id=exc.trace_id,
            detail=exc.kind,
        )
        also = (
            "The change may or may not have been applied. Calling again with the same arguments reuses "
            f"Idempotency-Key {key}, so Brex applies it at most once."
            if unknown
            else ""
        )
        raise ToolError(exc.describe(also)) from None
    state.keys.forget(print_)
    state.audit.record(
        tool,
        audited,
        "success",
        idempotency_key=key,
        http_status=response.status,
        brex_trace_id=response.trace_id,
        detail="reused the key of an earlier attempt" if reused else None,
    )
    return response, key
