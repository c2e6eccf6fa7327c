"""The client-side token bucket: unit behaviour on a fake clock, then 20 parallel tool calls against a sandbox limit."""

from __future__ import annotations

import time

import anyio
import pytest
from mcp import Client

from brex_mcp.config import ConfigError, RetryPolicy, rate_limit_fields, settings_from_env
from brex_mcp.ratelimit import RateLimitWait, TokenBucket
from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from tests.conftest import settings_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def bucket(capacity: int = 5, per: float = 1.0) -> tuple[TokenBucket, FakeTime]:
    fake = FakeTime()
    return TokenBucket(capacity, per, clock=fake.clock, sleep=fake.sleep), fake


def test_a_full_bucket_lets_a_burst_of_capacity_through_without_waiting():
    limiter, _ = bucket(5, 1.0)
    assert [limiter.reserve() for _ in range(5)] == [0.0] * 5


def test_callers_beyond_the_burst_queue_one_refill_interval_apart_in_arrival_order():
    limiter, _ = bucket(5, 1.0)
    for _ in range(5):
        limiter.reserve()
    assert [round(limiter.reserve(), 6) for _ in range(3)] == [0.2, 0.4, 0.6]


def test_tokens_refill_at_capacity_per_window():
    limiter, fake = bucket(5, 1.0)
    for _ in range(5):
        limiter.reserve()
    fake.now += 0.4  # two tokens back
    assert [round(limiter.reserve(), 6) for _ in range(3)] == [0.0, 0.0, 0.2]


def test_refill_never_exceeds_capacity():
    limiter, fake = bucket(5, 1.0)
    fake.now += 3600
    assert [limiter.reserve() for _ in range(5)] == [0.0] * 5
    assert round(limiter.reserve(), 6) == 0.2


def test_a_wait_longer_than_allowed_takes_no_slot_and_says_how_long():
    limiter, _ = bucket(1, 1.0)
    limiter.reserve()
    with pytest.raises(RateLimitWait) as caught:
        limiter.reserve(max_wait=0.5)
    assert caught.value.wait_seconds == 1.0
    assert limiter.granted == 1
    assert limiter.reserve(max_wait=1.0) == 1.0


def test_an_upstream_429_pauses_everyone_and_spends_the_burst():
    limiter, fake = bucket(5, 1.0)
    limiter.pause(3.0)
    assert round(limiter.reserve(), 6) == 3.2
    fake.now += 10
    assert limiter.reserve() == 0.0


@pytest.mark.anyio
async def test_acquire_sleeps_for_the_reserved_wait():
    limiter, fake = bucket(1, 2.0)
    assert await limiter.acquire() == 0.0
    assert await limiter.acquire() == 2.0
    assert fake.slept == [2.0]


def test_rate_limit_setting_reads_requests_per_seconds_or_off():
    assert rate_limit_fields("20/5") == {"rate_limit_requests": 20, "rate_limit_seconds": 5.0}
    assert rate_limit_fields("off") == {"rate_limit_requests": 0}
    assert rate_limit_fields(None) == {}


@pytest.mark.parametrize("bad", ["50", "x/10", "0/10", "5/0", "5/nan", "5/inf", "-1/3"])
def test_a_malformed_rate_limit_is_a_config_error_naming_the_setting(bad):
    with pytest.raises(ConfigError, match="BREX_MCP_RATE_LIMIT / --rate-limit must look like 50/10"):
        rate_limit_fields(bad)


def test_the_default_is_truto_s_50_requests_per_10_seconds_and_the_env_var_overrides_it():
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a"}
    default = settings_from_env(env)
    assert (default.rate_limit_requests, default.rate_limit_seconds) == (50, 10.0)
    tuned = settings_from_env({**env, "BREX_MCP_RATE_LIMIT": "10/2"})
    assert (tuned.rate_limit_requests, tuned.rate_limit_seconds) == (10, 2.0)
    flagged = settings_from_env({**env, "BREX_MCP_RATE_LIMIT": "10/2"}, rate_limit="off")
    assert flagged.rate_limit_requests == 0


# -- against the sandbox's limit ---------------------------------------------------------------------

LIMIT, WINDOW, CALLS = 5, 1.0, 20
# Fields that need no name lookups, so each call is exactly one upstream request.
ONE_REQUEST = {"limit": 1, "fields": ["email"]}


async def twenty_parallel_list_users(sb: Sandbox, client_limit: int, **overrides) -> list:
    settings = settings_for(sb, rate_limit_requests=client_limit, rate_limit_seconds=WINDOW, **overrides)
    results: list = [None] * CALLS
    async with Client(build_server(settings)) as client:

        async def one(i: int) -> None:
            results[i] = await client.call_tool("list_users", ONE_REQUEST)

        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(one, i)
    return results


@pytest.mark.anyio
async def test_twenty_parallel_calls_under_a_tight_limit_all_succeed_and_queue_at_the_allowed_rate():
    with Sandbox(rate_limit=(LIMIT, WINDOW)) as sb:
        started = time.monotonic()
        results = await twenty_parallel_list_users(sb, client_limit=LIMIT)
        arrivals = sorted(r.at - started for r in sb.requests)

    assert [r.is_error for r in results] == [False] * CALLS
    assert all("429" not in r.content[0].text for r in results)
    # The limiter guarantees the k-th request (k > burst) is not sent before (k - burst) refill intervals.
    interval = WINDOW / LIMIT
    for k, arrived in enumerate(arrivals, start=1):
        assert arrived >= (k - LIMIT) * interval - 0.01, (k, arrived)
    # Queued calls were sent, not stormed: every request the sandbox saw was one of the 20, or a rare
    # jitter-induced 429 that the retry absorbed (arrival jitter of the burst costs about one; the
    # 429 then pauses every caller for its Retry-After, so they cannot pile up).
    assert sb.rate_limited <= 3
    assert len(arrivals) == CALLS + sb.rate_limited


@pytest.mark.anyio
async def test_without_the_client_limiter_the_same_burst_meets_the_sandbox_s_429s():
    with Sandbox(rate_limit=(LIMIT, WINDOW)) as sb:
        results = await twenty_parallel_list_users(sb, client_limit=0, retry=RetryPolicy(max_attempts=1))
    assert sb.rate_limited > 0
    rate_limited = [r for r in results if r.is_error and '"error":"rate_limited"' in r.content[0].text]
    assert len(rate_limited) == sb.rate_limited


@pytest.mark.anyio
async def test_a_call_that_would_queue_past_its_budget_is_refused_at_once_and_nothing_is_sent(sandbox):
    from brex_mcp.errors import RateLimited
    from brex_mcp.truto import TrutoClient

    client = TrutoClient(settings_for(sandbox, rate_limit_requests=1, rate_limit_seconds=100))
    try:
        await client.unified("/users", {"limit": 1})
        with pytest.raises(RateLimited) as caught:
            await client.unified("/users", {"limit": 1})
    finally:
        await client.aclose()
    assert len(sandbox.requests) == 1
    assert caught.value.retry_after_seconds == pytest.approx(100, abs=1)
    assert "was not sent" in caught.value.message


@pytest.mark.anyio
async def test_a_call_ends_within_its_retry_budget_even_when_every_answer_hangs(sandbox):
    from brex_mcp.config import RetryPolicy
    from brex_mcp.errors import NetworkError
    from brex_mcp.truto import TrutoClient

    sandbox.faults.add("/unified", kind="timeout", seconds=60, times=None)
    budget = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_total_seconds=1)
    client = TrutoClient(settings_for(sandbox, read_timeout=30, retry=budget))
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError):
            await client.unified("/users", {"limit": 1})
    finally:
        await client.aclose()
    # Without the budget cutting each attempt's timeout, one attempt alone would wait 30 s.
    assert time.monotonic() - started < 10


@pytest.mark.anyio
async def test_one_limiter_serves_every_http_session_of_the_server_process():
    from tests.test_load import http_server

    with http_server(rate_limit="2/100") as (port, _process):
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client(url) as first, Client(url, mode="legacy") as second:
            spent = [await first.call_tool("list_users", ONE_REQUEST) for _ in range(2)]
            refused = await second.call_tool("list_users", ONE_REQUEST)
    assert [r.is_error for r in spent] == [False, False]
    assert refused.is_error
    assert '"error":"rate_limited"' in refused.content[0].text and "was not sent" in refused.content[0].text


def test_clients_for_one_account_share_one_bucket_and_other_accounts_get_their_own(sandbox):
    from brex_mcp.truto import TrutoClient

    first, second = TrutoClient(settings_for(sandbox)), TrutoClient(settings_for(sandbox))
    other = TrutoClient(settings_for(sandbox, integrated_account_id="another-account"))
    assert first.limiter is second.limiter
    assert other.limiter is not first.limiter
