"""A client-side token bucket, shared by every concurrent tool call of one integrated account.

Truto allows 50 requests per 10 s per integrated account. Agents call tools in parallel; without a
limiter a burst of calls storms into 429s and each one waits out its own Retry-After. With it, calls
queue here, in arrival order, and go out at the allowed rate.

The bucket holds `capacity` tokens and refills at `capacity / per` tokens a second. A request takes
one token; when none is left the caller is given a reservation (its slot in the queue) and sleeps
until the slot comes, so waiting callers never race each other and leave in first-come order. A 429
from upstream empties the bucket and pauses everyone until its Retry-After has passed.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Awaitable, Callable

import anyio


class RateLimitWait(Exception):
    """Waiting for a slot would take longer than the caller can wait; nothing was sent."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"the client-side rate limit queue is {wait_seconds:.1f}s long")
        self.wait_seconds = wait_seconds


class TokenBucket:
    """`capacity` requests per `per` seconds, with bursts up to `capacity`."""

    def __init__(
        self,
        capacity: int,
        per: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if per <= 0:
            raise ValueError("per must be greater than 0 seconds")
        self.capacity = capacity
        self.per = per
        self.rate = capacity / per
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._updated = clock()
        self._paused_until = 0.0
        self.granted = 0
        """How many requests the bucket has let through (for tests and benchmarks)."""

    def __repr__(self) -> str:
        return f"TokenBucket({self.capacity} per {self.per:g}s)"

    def _refill(self, now: float) -> None:
        start = max(self._updated, self._paused_until)
        if now > start:
            self._tokens = min(float(self.capacity), self._tokens + (now - start) * self.rate)
        self._updated = max(now, self._updated)

    def reserve(self, max_wait: float | None = None) -> float:
        """Take a token now; return how long the caller must sleep before using it.

        No await happens between reading and updating the bucket, so concurrent tasks on one event
        loop cannot double-spend a token. With `max_wait`, a wait longer than that takes nothing
        and raises RateLimitWait instead.
        """
        now = self._clock()
        self._refill(now)
        pause = max(0.0, self._paused_until - now)
        # Tokens may go negative: -n means n callers are already queued ahead of this one.
        wait = pause + (max(0.0, 1.0 - self._tokens) / self.rate)
        if max_wait is not None and wait > max_wait:
            raise RateLimitWait(wait)
        self._tokens -= 1.0
        self.granted += 1
        return wait

    async def acquire(self, max_wait: float | None = None) -> float:
        """Wait for a slot; returns the seconds waited (0 when a token was free)."""
        wait = self.reserve(max_wait)
        if wait > 0:
            await self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Upstream said 429: nobody sends until `seconds` from now, and the burst allowance is gone."""
        if seconds <= 0:
            return
        now = self._clock()
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)
        self._paused_until = max(self._paused_until, now + seconds)


_BUCKETS: weakref.WeakValueDictionary[tuple[str, str, int, float], TokenBucket] = weakref.WeakValueDictionary()
_BUCKETS_LOCK = threading.Lock()


def bucket_for(base_url: str, account_id: str, capacity: int, per: float) -> TokenBucket:
    """The one bucket of an integrated account: every client (or per-account view) for it in this process gets
    the same bucket, for as long as any of them is alive."""
    key = (base_url, account_id, capacity, per)
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            bucket = TokenBucket(capacity, per)
            _BUCKETS[key] = bucket
        return bucket
