"""The Truto client: credentials, timeouts, retries with backoff, and Truto's error envelope.

One pooled httpx.AsyncClient per process. Every request carries the bearer token and the
`integrated_account_id` query parameter. Reads are retried on 429/502/503/504 and network faults;
writes only when they carry an Idempotency-Key, and always with the same key.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx

from .config import Settings
from .errors import (
    BadRequest,
    MalformedResponse,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UpstreamError,
    error_for_status,
)
from .logs import request_id
from .ratelimit import RateLimitWait, TokenBucket, bucket_for

log = logging.getLogger(__name__)

# 500 is "Truto failed" and 502/504 "no clean answer from Brex": all transient (truto-api.md §4.3).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
QueryValue = str | int | float | bool | Sequence[str | int]
Query = Mapping[str, QueryValue | None]
_ENVELOPE_KEYS = frozenset({"result", "next_cursor", "prev_cursor", "result_count", "is_partial_response"})


@dataclass(frozen=True)
class Response:
    status: int
    data: Any
    trace_id: str | None


class TrutoClient:
    """Talks to Truto for one integrated account; the direct Brex client builds on its request machinery."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        limiter: TokenBucket | None = None,
    ) -> None:
        self._settings = settings
        self._token = settings.upstream_token.get_secret_value()
        self._own_http = http is None
        self._http = http or new_http_client(settings)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        # One bucket per integrated account: every tool call, and every client for the account, shares it.
        if limiter is None and settings.rate_limit_requests:
            limiter = bucket_for(
                settings.upstream_url,
                settings.integrated_account_id,
                settings.rate_limit_requests,
                settings.rate_limit_seconds,
            )
        self.limiter = limiter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._settings.upstream_url!r}, account={self.account_id!r})"

    @property
    def account_id(self) -> str:
        return self._settings.integrated_account_id

    async def aclose(self) -> None:
        """Closes the connection pool only if this client made it; a shared pool belongs to its owner."""
        if self._own_http:
            await self._http.aclose()

    # -- routes -------------------------------------------------------------------------------------

    async def unified(self, path: str, params: Query | None = None) -> Response:
        """GET a Unified User Directory route, e.g. `/users` or `/users/{id}`."""
        return await self.request("GET", "/unified/user-directory" + path, params=params)

    async def custom(
        self,
        method: str,
        brex_path: str,
        *,
        params: Query | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> Response:
        """Call a Brex path through Truto's custom passthrough; the reply is Brex's body, unwrapped."""
        response = await self.request(
            method, "/custom" + brex_path, params=params, json_body=json_body, idempotency_key=idempotency_key
        )
        return Response(response.status, unwrap_custom(response.data), response.trace_id)

    # -- the one place requests are made ------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        account_query: bool = True,
    ) -> Response:
        """`account_query=False` is for Truto's admin routes, which name the account in the path."""
        method = method.upper()
        query = encode_query(params)
        if account_query:
            query.append(("integrated_account_id", self.account_id))
        headers = {"Authorization": f"Bearer {self._token}"}
        if call_id := request_id.get():
            headers["X-Request-Id"] = call_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"

        retryable = method == "GET" or idempotency_key is not None
        policy = self._settings.retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            # Every attempt, retries included, waits its turn and fits in what is left of the call's budget,
            # so a tool call never outlives max_total_seconds by more than one connect.
            remaining = policy.max_total_seconds - (self._clock() - started)
            await self._take_slot(method, path, remaining)
            remaining = max(0.05, policy.max_total_seconds - (self._clock() - started))
            timeout = httpx.Timeout(
                min(self._settings.read_timeout, remaining), connect=min(self._settings.connect_timeout, remaining)
            )
            try:
                raw = await self._http.request(
                    method, path, params=query, headers=headers, content=content, timeout=timeout
                )
            except httpx.InvalidURL as exc:  # built locally: nothing was sent
                raise BadRequest(f"The request could not be built, so nothing was sent: {exc}") from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                error: UpstreamError = self._network_error(method, exc)
                wait = self._backoff(attempt)
            else:
                if raw.status_code < 400:
                    try:
                        return Response(raw.status_code, self._parse_success(raw), _trace_id(raw))
                    except MalformedResponse as exc:  # a garbled answer is transient, like a 502
                        error, wait = exc, self._backoff(attempt)
                else:
                    error = self._parse_error(raw)
                    if raw.status_code not in RETRYABLE_STATUSES or error.kind == "account_blocked":
                        raise error
                    wait = max(error.retry_after_seconds or 0.0, self._backoff(attempt))
                    if raw.status_code == 429 and self.limiter is not None:
                        self.limiter.pause(wait)  # the whole account waits, not just this call
            elapsed = self._clock() - started
            if not retryable or attempt >= policy.max_attempts or elapsed + wait > policy.max_total_seconds:
                raise error
            log.info("retrying %s %s after %s (attempt %d, waiting %.2fs)", method, path, error.kind, attempt, wait)
            await self._sleep(wait)

    # -- helpers ------------------------------------------------------------------------------------

    async def _take_slot(self, method: str, path: str, remaining: float) -> None:
        if self.limiter is None:
            return
        try:
            waited = await self.limiter.acquire(max_wait=max(0.0, remaining))
        except RateLimitWait as exc:
            raise RateLimited(
                f"Too many calls are queued for this Brex account: the next free slot under the client-side "
                f"limit of {self.limiter.capacity} requests per {self.limiter.per:g}s is {exc.wait_seconds:.1f}s "
                f"away, longer than this call may wait; {method} {path} was not sent",
                retry_after_seconds=exc.wait_seconds,
            ) from None
        if waited > 0:
            log.debug("rate limiter held %s %s for %.2fs", method, path, waited)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: spreads parallel callers so they do not retry in lockstep."""
        policy = self._settings.retry
        ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
        return self._rng.uniform(0, ceiling)

    def _network_error(self, method: str, exc: Exception) -> UpstreamError:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        if method != "GET" and not isinstance(exc, httpx.ConnectError):
            return OutcomeUnknown(f"The {method} request to Truto {what} before an answer arrived")
        return NetworkError(f"The request to Truto {what}: {type(exc).__name__}")

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    def _parse_success(self, raw: httpx.Response) -> Any:
        if raw.status_code == 204 or not raw.content:
            return None
        try:
            return raw.json()
        except ValueError:
            raise MalformedResponse(
                f"Truto answered {raw.status_code} with a body that is not JSON",
                status=raw.status_code,
                trace_id=_trace_id(raw),
            ) from None

    def _parse_error(self, raw: httpx.Response) -> UpstreamError:
        status = raw.status_code
        trace_id = _trace_id(raw)
        retry_after = parse_retry_after(raw.headers.get("retry-after"))
        try:
            body = raw.json()
        except ValueError:
            body = None
        remote = False
        code = None
        truto_blocked = False
        if isinstance(body, dict):
            remote = bool(body.get("truto_is_remote_error"))
            message = _text(body.get("message"))
            brex = body.get("raw_response")
            if isinstance(brex, dict):
                message = message or _text(brex.get("message"))
                code = _text(brex.get("code")) or _text(brex.get("type")) or None
            elif isinstance(brex, str) and not message:
                message = brex[:300]
            if not message:
                message = _text(body.get("error"))
            truto_blocked = status == 503 and "statusCode" in body and not remote
            scopes = _missing_scopes(body)
            if scopes:
                message = f"{message or 'forbidden'} (missing scopes: {', '.join(scopes)})"
        else:
            message = f"non-JSON error body ({raw.headers.get('content-type', 'no content type')})"
        source = "Brex" if remote else "Truto"
        text = self._redact(f"{source} answered HTTP {status}: {message or raw.reason_phrase}")
        cls = error_for_status(status, truto_blocked=truto_blocked)
        return cls(text, status=status, remote=remote, trace_id=trace_id, code=code, retry_after_seconds=retry_after)


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    """The pooled connection upstream, with timeouts on every call; one per process."""
    return httpx.AsyncClient(
        base_url=settings.upstream_url,
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        headers={"Accept": "application/json", "User-Agent": "brex-mcp"},
        verify=_tls_context(),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx loads the CA bundle for every client it makes (~70 ms); one context per process, same trust store."""
    return httpx.create_ssl_context()


def unwrap_custom(data: Any) -> Any:
    """Truto wraps custom-passthrough JSON as {result, next_cursor, ...}; a Brex page may come back either way.

    A wrapped Brex object or page ({items, next_cursor}) is returned as Brex sent it. A Truto list
    envelope (result is a list) is left whole so the pager can read its top-level cursor.
    """
    if isinstance(data, dict) and "result" in data and _ENVELOPE_KEYS.issuperset(data):
        if isinstance(data["result"], list):
            return data
        return data["result"]
    return data


def encode_query(params: Query | None) -> list[tuple[str, str]]:
    """Lists become repeated keys (Brex's `user_ids=a&user_ids=b`); booleans are lower-case; None is dropped."""
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            out.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return out


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _missing_scopes(body: dict[str, Any]) -> list[str]:
    """Truto's 403 insight: truto_error_insight.forbidden_error.value.missing_scopes (truto-api.md §4.3)."""
    insight = body.get("truto_error_insight")
    forbidden = insight.get("forbidden_error") if isinstance(insight, dict) else None
    value = forbidden.get("value") if isinstance(forbidden, dict) else None
    scopes = value.get("missing_scopes") if isinstance(value, dict) else None
    if not isinstance(scopes, list):
        return []
    return [_text(s) for s in scopes if _text(s)][:20]


def _trace_id(raw: httpx.Response) -> str | None:
    return raw.headers.get("x-brex-trace-id")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
