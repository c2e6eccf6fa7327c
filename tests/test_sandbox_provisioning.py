"""The sandbox's Brex rules for card creation, invitations, expenses and receipt uploads, over real HTTP."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brex_mcp.sandbox import Sandbox

PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, trust_env=False, verify=PLAIN_HTTP) as client:
        yield client


def brex(api: httpx.Client, sb: Sandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    params = {"integrated_account_id": sb.account_id, **kwargs.pop("params", {})}
    return api.request(method, f"/custom{path}", params=params, **kwargs)


def message(response: httpx.Response) -> str:
    return response.json()["raw_response"]["message"]


def virtual_card(user_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "owner": {"type": "USER", "user_id": user_id},
        "card_name": "Travel",
        "card_type": "VIRTUAL",
        "limit_type": "CARD",
        "spend_controls": {"spend_limit": {"amount": 10000, "currency": "USD"}, "spend_duration": "MONTHLY"},
        **extra,
    }


def active_user_id(sb: Sandbox) -> str:
    return next(u["id"] for u in sb.data.users if u["status"] == "ACTIVE")


def test_card_creation_without_an_idempotency_key_is_a_400(sandbox, api):
    before = len(sandbox.data.cards)
    response = brex(api, sandbox, "POST", "/v2/cards", json=virtual_card(active_user_id(sandbox)))
    assert (response.status_code, message(response)) == (400, "Idempotency-Key header is required")
    assert len(sandbox.data.cards) == before


def test_the_same_key_replays_the_first_card(sandbox, api):
    body = virtual_card(active_user_id(sandbox))
    first = brex(api, sandbox, "POST", "/v2/cards", json=body, headers={"Idempotency-Key": "k"}).json()["result"]
    again = brex(api, sandbox, "POST", "/v2/cards", json=body, headers={"Idempotency-Key": "k"}).json()["result"]
    assert first == again


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"card_type": "PHYSICAL"}, "A card with limit_type CARD must be VIRTUAL"),
        ({"spend_controls": None}, "spend_controls is required when limit_type is CARD"),
        ({"card_name": "Café"}, "card_name is invalid"),
    ],
)
def test_card_rules(sandbox, api, change, expected):
    body = {**virtual_card(active_user_id(sandbox)), **change}
    response = brex(
        api, sandbox, "POST", "/v2/cards", json=body, headers={"Idempotency-Key": expected.replace(" ", "-")}
    )
    assert (response.status_code, message(response)) == (400, expected)


def test_an_eleventh_active_physical_card_is_refused(sandbox, api):
    user_id = active_user_id(sandbox)
    held = sum(
        1
        for c in sandbox.data.cards
        if c["owner"]["user_id"] == user_id and c["card_type"] == "PHYSICAL" and c["status"] != "TERMINATED"
    )
    address = dict(sandbox.data.company["mailing_address"])
    body = {**virtual_card(user_id), "card_type": "PHYSICAL", "limit_type": "USER", "spend_controls": None}
    body["mailing_address"] = address
    statuses = [
        brex(api, sandbox, "POST", "/v2/cards", json=body, headers={"Idempotency-Key": f"p{i}"}).status_code
        for i in range(11 - held)
    ]
    assert statuses == [200] * (10 - held) + [400]


def test_inviting_an_existing_email_in_another_case_is_refused(sandbox, api):
    email = sandbox.data.users[4]["email"].upper()
    response = brex(api, sandbox, "POST", "/v2/users", json={"first_name": "A", "last_name": "B", "email": email})
    assert (response.status_code, message(response)) == (400, "A user with this email already exists")


def test_expense_lists_allow_at_most_100_per_page(sandbox, api):
    assert brex(api, sandbox, "GET", "/v1/expenses", params={"limit": 100}).status_code == 200
    assert brex(api, sandbox, "GET", "/v1/expenses", params={"limit": 101}).status_code == 400


def test_transactions_name_their_expense_only_when_expanded(sandbox, api):
    expense = sandbox.data.expenses[0]
    tx = next(t for t in sandbox.data.transactions if t["expense_id"] == expense["id"])
    params = {"posted_at_start": tx["posted_at_date"], "limit": 1000}
    plain = brex(api, sandbox, "GET", "/v2/transactions/card/primary", params=params).json()["result"]["items"]
    expanded = brex(
        api, sandbox, "GET", "/v2/transactions/card/primary", params={**params, "expand[]": "expense_id"}
    ).json()["result"]["items"]
    assert {t["expense_id"] for t in plain} == {None}
    assert next(t for t in expanded if t["id"] == tx["id"])["expense_id"] == expense["id"]


def test_a_non_ascii_memo_is_a_400_and_changes_nothing(sandbox, api):
    expense = sandbox.data.expenses[0]
    before = expense["memo"]
    response = brex(api, sandbox, "PUT", f"/v1/expenses/card/{expense['id']}", json={"memo": "Café"})
    assert (response.status_code, message(response), expense["memo"]) == (400, "memo is invalid", before)


def test_an_upload_uri_takes_one_put_without_credentials(sandbox, api):
    expense = next(e for e in sandbox.data.expenses if not e["receipts"])
    answer = brex(
        api, sandbox, "POST", f"/v1/expenses/card/{expense['id']}/receipt_upload", json={"receipt_name": "r.pdf"}
    )
    uri = answer.json()["result"]["uri"]
    assert answer.status_code == 201 and uri.startswith(f"{sandbox.url}/_receipts/")
    with httpx.Client(trust_env=False) as storage:
        assert storage.put(uri, content=b"%PDF-1.4").status_code == 200
        assert storage.put(uri, content=b"%PDF-1.4").status_code == 403
    assert [r["id"] for r in expense["receipts"]] == [answer.json()["result"]["id"]]


def test_an_expired_upload_uri_is_refused(sandbox, api):
    routes = sandbox._brex.expenses
    expense = sandbox.data.expenses[0]
    answer = brex(
        api, sandbox, "POST", f"/v1/expenses/card/{expense['id']}/receipt_upload", json={"receipt_name": "r.pdf"}
    )
    now = routes.clock()
    routes.clock = lambda: now + 31 * 60
    with httpx.Client(trust_env=False) as storage:
        response = storage.put(answer.json()["result"]["uri"], content=b"%PDF-1.4")
    assert (response.status_code, response.text) == (403, "Request has expired")
