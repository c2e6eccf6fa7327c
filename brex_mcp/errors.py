"""Upstream failures as a small hierarchy, so tools can tell a user what happened and what to do next."""

from __future__ import annotations

import json
from typing import Any


class UpstreamError(Exception):
    """Truto or Brex answered with an error, or could not be reached.

    `status` is the HTTP status (None when no response arrived); `remote` is True when Brex itself
    produced the error and Truto passed it on.
    """

    kind = "upstream_error"
    hint = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        remote: bool = False,
        trace_id: str | None = None,
        code: str | None = None,
        retry_after_seconds: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self._hint = hint
        self.message = message
        self.status = status
        self.remote = remote
        self.trace_id = trace_id
        self.code = code
        self.retry_after_seconds = retry_after_seconds

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.kind}
        if self.status is not None:
            out["status"] = self.status
        out["source"] = "brex" if self.remote else "truto"
        if self.code:
            out["code"] = self.code
        if self.retry_after_seconds is not None:
            out["retry_after_seconds"] = round(self.retry_after_seconds, 1)
        if self.trace_id:
            out["brex_trace_id"] = self.trace_id
        return out

    def describe(self, also: str = "") -> str:
        """One line for a model: what failed, what to do (and `also`), then the machine-readable details last."""
        text = self.message.rstrip(".") + "."
        hint = self._hint or self.hint
        if hint:
            text += " " + hint
        if also:
            text += " " + also
        return f"{text} {json.dumps(self.details(), separators=(',', ':'))}"


class BadRequest(UpstreamError):
    kind = "bad_request"
    hint = "Fix the arguments; retrying the same request will fail again."


class AuthenticationFailed(UpstreamError):
    kind = "authentication_failed"

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.remote:
            return "Brex rejected the stored connection; the account owner must reconnect Brex in Truto."
        return "The Truto API token was rejected; check TRUTO_API_TOKEN."


class PermissionDenied(UpstreamError):
    kind = "permission_denied"
    hint = "The Brex connection lacks the scope or role for this; reconnect it with the needed scopes."


class NotFound(UpstreamError):
    kind = "not_found"
    hint = "Check the id; list tools return valid ids."


class Conflict(UpstreamError):
    kind = "conflict"
    hint = "Brex refused the change in the object's current state."


class RateLimited(UpstreamError):
    kind = "rate_limited"
    hint = "Wait retry_after_seconds, then try again."


class AccountBlocked(UpstreamError):
    kind = "account_blocked"
    hint = "Truto has blocked this integrated account; contact Truto support. Retrying will not help."


class ServerError(UpstreamError):
    kind = "upstream_unavailable"
    hint = "The upstream failed after retries; try again shortly."


class NetworkError(UpstreamError):
    kind = "network_error"
    hint = "Truto could not be reached after retries; check connectivity and TRUTO_BASE_URL."


class OutcomeUnknown(UpstreamError):
    """A write was sent but no answer came back: it may or may not have happened."""

    kind = "outcome_unknown"
    hint = "The change may have been applied. Read the object's state before trying again."


class MalformedResponse(UpstreamError):
    kind = "malformed_response"
    hint = "The upstream sent a response this server cannot read; try again shortly."


class PaginationError(UpstreamError):
    kind = "pagination_error"
    hint = "The upstream's paging is inconsistent; retry from the first page."


def error_for_status(status: int, *, truto_blocked: bool = False) -> type[UpstreamError]:
    if status == 401:
        return AuthenticationFailed
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status in (409, 412, 422):
        return Conflict
    if status == 429:
        return RateLimited
    if status == 503 and truto_blocked:
        return AccountBlocked
    if status >= 500:
        return ServerError
    return BadRequest
