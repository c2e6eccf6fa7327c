"""The Truto client against the sandbox over real loopback HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from brex_mcp.errors import (
    AccountBlocked,
    AuthenticationFailed,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ServerError,
)
from brex_mcp.pagination import Position, parse_page, scan
from brex_mcp.truto import TrutoClient, parse_retry_after
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio

TXN_PATH = "/custom/v2/transactions/card/primary"
BREX_503 = json.dumps(
    {"statusCode": 503, "error": "Service Unavailable", "message": "upstream busy", "truto_is_remote_error": True}
)


@pytest.fixture
async def truto(settings):
    client = TrutoClient(settings)
    yield client
    await client.aclose()


def requests_to(sandbox, prefix):
    return [r for r in sandbox.requests if r.path.startswith(prefix)]


async def test_every_request_carries_the_bearer_token_and_account(truto, sandbox):
    await truto.unified("/users", {"limit": 1})
    (record,) = sandbox.requests
    assert record.headers["authorization"] == f"Bearer {sandbox.token}"
    assert record.query["integrated_account_id"] == [sandbox.account_id]


async def walk(truto, brex_path, page_size):
    async def fetch(position: Position):
        params = {"limit": position.page_size}
        if position.cursor:
            params[position.param] = position.cursor
        return parse_page((await truto.custom("GET", brex_path, params=params)).data)

    return await scan(fetch, start=Position(page_size=page_size), want=10**9, max_pages=10**6)


async def test_brex_page_shape_walks_every_transaction_once(truto, sandbox):
    result = await walk(truto, "/v2/transactions/card/primary", 1000)
    ids = [row["id"] for row in result.rows]
    assert sorted(ids) == sorted(t["id"] for t in sandbox.data.transactions)
    assert all("cursor" in r.query for r in requests_to(sandbox, TXN_PATH)[1:])


async def test_truto_envelope_shape_walks_every_transaction_once():
    from brex_mcp.sandbox import Sandbox

    with Sandbox(seed=7, custom_list_shape="truto_envelope") as sb:
        client = TrutoClient(settings_for(sb))
        try:
            result = await walk(client, "/v2/transactions/card/primary", 1000)
        finally:
            await client.aclose()
        assert sorted(r["id"] for r in result.rows) == sorted(t["id"] for t in sb.data.transactions)
        assert all("next_cursor" in r.query for r in requests_to(sb, TXN_PATH)[1:])


async def test_unknown_user_is_not_found_with_brex_code_and_trace_id(truto):
    with pytest.raises(NotFound) as caught:
        await truto.unified("/users/cuuser_doesnotexist")
    error = caught.value
    assert (error.status, error.remote, error.code) == (404, True, "USER_NOT_FOUND")
    assert error.trace_id


async def test_wrong_token_is_a_truto_authentication_error(sandbox):
    from pydantic import SecretStr

    client = TrutoClient(settings_for(sandbox, truto_api_token=SecretStr("wrong")))
    with pytest.raises(AuthenticationFailed) as caught:
        await client.unified("/users")
    await client.aclose()
    assert (caught.value.status, caught.value.remote) == (401, False)
    assert "TRUTO_API_TOKEN" in caught.value.describe()


async def test_get_is_retried_after_429_until_it_succeeds(truto, sandbox):
    sandbox.faults.add(path_prefix="/unified/user-directory/users", status=429, times=2, headers={"Retry-After": "0"})
    response = await truto.unified("/users", {"limit": 5})
    assert len(response.data["result"]) == 5
    assert len(sandbox.requests) == 3


async def test_get_is_retried_after_502_503_and_504(truto, sandbox):
    for status in (502, 503, 504):
        sandbox.faults.add(path_prefix=TXN_PATH, status=status, times=1, body=BREX_503 if status == 503 else None)
    await truto.custom("GET", "/v2/transactions/card/primary", params={"limit": 1})
    assert len(requests_to(sandbox, TXN_PATH)) == 4


async def test_get_is_retried_after_a_connection_reset(truto, sandbox):
    sandbox.faults.add(path_prefix=TXN_PATH, kind="reset", times=1)
    await truto.custom("GET", "/v2/transactions/card/primary", params={"limit": 1})
    assert len(requests_to(sandbox, TXN_PATH)) == 2


async def test_get_is_retried_after_a_timeout(sandbox):
    assert sandbox.data.transactions  # seed the company now: seeding inside the retry can outlast 0.2 s
    sandbox.faults.add(path_prefix=TXN_PATH, kind="delay", seconds=1.0, times=1)
    client = TrutoClient(settings_for(sandbox, read_timeout=0.2))
    try:
        await client.custom("GET", "/v2/transactions/card/primary", params={"limit": 1})
    finally:
        await client.aclose()
    assert len(requests_to(sandbox, TXN_PATH)) == 2


async def test_retries_stop_after_max_attempts_with_the_rate_limit_error(truto, sandbox):
    sandbox.faults.add(path_prefix=TXN_PATH, status=429, times=10, headers={"Retry-After": "0"})
    with pytest.raises(RateLimited) as caught:
        await truto.custom("GET", "/v2/transactions/card/primary")
    assert len(requests_to(sandbox, TXN_PATH)) == 4
    assert caught.value.retry_after_seconds == 0


async def test_retry_after_beyond_the_time_budget_fails_at_once_saying_when_to_retry(truto, sandbox):
    sandbox.faults.add(path_prefix=TXN_PATH, status=429, times=1, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as caught:
        await truto.custom("GET", "/v2/transactions/card/primary")
    assert len(requests_to(sandbox, TXN_PATH)) == 1
    assert caught.value.details()["retry_after_seconds"] == 30


async def test_retry_after_as_an_http_date_is_honoured(sandbox):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    sandbox.faults.add(path_prefix=TXN_PATH, status=429, times=1, headers={"Retry-After": when})
    client = TrutoClient(settings_for(sandbox), sleep=sleep)
    try:
        await client.custom("GET", "/v2/transactions/card/primary", params={"limit": 1})
    finally:
        await client.aclose()
    assert len(slept) == 1 and 1.5 < slept[0] <= 3.0


def test_retry_after_parses_seconds_and_dates():
    now = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("Thu, 03 Dec 2026 12:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Thu, 03 Dec 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None


async def test_post_without_idempotency_key_is_never_retried(truto, sandbox):
    card = sandbox.data.cards[0]["id"]
    sandbox.faults.add(path_prefix=f"/custom/v2/cards/{card}/lock", status=503, times=1, body=BREX_503)
    with pytest.raises(ServerError):
        await truto.custom("POST", f"/v2/cards/{card}/lock", json_body={"reason": "OTHER"})
    assert len(requests_to(sandbox, f"/custom/v2/cards/{card}/lock")) == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key(truto, sandbox):
    card = next(c for c in sandbox.data.cards if c["status"] == "ACTIVE")["id"]
    path = f"/custom/v2/cards/{card}/lock"
    sandbox.faults.add(path_prefix=path, status=503, times=2, body=BREX_503)
    response = await truto.custom(
        "POST", f"/v2/cards/{card}/lock", json_body={"reason": "OTHER"}, idempotency_key="k-1"
    )
    assert response.data["status"] == "LOCKED"
    assert [r.headers["idempotency-key"] for r in requests_to(sandbox, path)] == ["k-1", "k-1", "k-1"]


async def test_post_cut_off_after_sending_is_reported_as_outcome_unknown(truto, sandbox):
    card = sandbox.data.cards[0]["id"]
    sandbox.faults.add(path_prefix=f"/custom/v2/cards/{card}/lock", kind="reset", times=1)
    with pytest.raises(OutcomeUnknown):
        await truto.custom("POST", f"/v2/cards/{card}/lock", json_body={"reason": "OTHER"})


async def test_truto_503_means_the_account_is_blocked_and_is_not_retried(truto, sandbox):
    blocked = json.dumps({"statusCode": 503, "error": "Service Unavailable", "message": "Integrated account blocked"})
    sandbox.faults.add(path_prefix=TXN_PATH, status=503, times=5, body=blocked)
    with pytest.raises(AccountBlocked):
        await truto.custom("GET", "/v2/transactions/card/primary")
    assert len(requests_to(sandbox, TXN_PATH)) == 1


async def test_an_upstream_echo_of_the_token_is_redacted(truto, sandbox):
    echo = json.dumps({"statusCode": 400, "error": "Bad Request", "message": f"bad header Bearer {sandbox.token}"})
    sandbox.faults.add(path_prefix=TXN_PATH, status=400, times=1, body=echo)
    with pytest.raises(Exception) as caught:
        await truto.custom("GET", "/v2/transactions/card/primary")
    assert sandbox.token not in caught.value.describe()
    assert "[redacted]" in caught.value.describe()


async def test_client_repr_does_not_show_the_token(truto, sandbox):
    assert sandbox.token not in repr(truto)
