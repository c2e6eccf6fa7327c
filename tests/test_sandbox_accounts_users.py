"""Sandbox additions: the large profile, cash accounts, and Brex's rules for updating a user."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import httpx
import pytest

from brex_mcp.sandbox import Sandbox
from brex_mcp.sandbox.seed import build_company

PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, trust_env=False, verify=PLAIN_HTTP) as client:
        yield client


def put_user(api: httpx.Client, sandbox: Sandbox, user_id: str, body: object) -> httpx.Response:
    return api.put(
        f"/custom/v2/users/{user_id}",
        params={"integrated_account_id": sandbox.account_id},
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def test_the_default_company_is_unchanged_by_the_transaction_count_parameter():
    assert build_company(7).transactions == build_company(7, 6000).transactions


def test_a_bigger_company_keeps_the_same_people_and_cards():
    small, big = build_company(7), build_company(7, 12_000)
    assert (small.users, small.cards) == (big.users, big.cards)
    assert len(big.transactions) == 12_000


def test_the_large_profile_has_fifty_thousand_transactions_in_posted_order():
    rows = Sandbox(profile="large").data.transactions
    assert len(rows) == 50_000
    assert [r["posted_at_date"] for r in rows] == sorted(r["posted_at_date"] for r in rows)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile must be one of"):
        Sandbox(profile="huge")


def test_there_is_exactly_one_primary_cash_account(sandbox: Sandbox):
    assert [a["primary"] for a in sandbox.data.cash_accounts].count(True) == 1


def test_an_unknown_cash_account_is_a_404(api: httpx.Client, sandbox: Sandbox):
    response = api.get("/custom/v2/accounts/cash/dpcash_nope", params={"integrated_account_id": sandbox.account_id})
    assert response.status_code == 404


def test_a_user_update_changes_only_the_fields_sent(api: httpx.Client, sandbox: Sandbox):
    user = next(u for u in sandbox.data.users if u["status"] == "ACTIVE")
    before = dict(user)
    assert put_user(api, sandbox, user["id"], {"status": "DISABLED"}).status_code == 200
    assert user == {**before, "status": "DISABLED"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "DELETED"}, "status is invalid"),
        ({"department_id": "cudept_nope"}, "department_id is invalid"),
        ({"email": "x@example.com"}, "Unknown field"),
        ([], "must be a JSON object"),
    ],
)
def test_a_user_update_follows_brex_rules(api: httpx.Client, sandbox: Sandbox, body: object, message: str):
    user = sandbox.data.users[10]
    response = put_user(api, sandbox, user["id"], body)
    assert response.status_code == 400 and message in response.json()["message"]


def test_updating_an_unknown_user_is_a_404(api: httpx.Client, sandbox: Sandbox):
    assert put_user(api, sandbox, "cuuser_nope", {"status": "DISABLED"}).status_code == 404
