"""The Truto/Brex sandbox over real loopback HTTP: auth, envelopes, paging, Brex rules, faults, seed."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from brex_mcp.sandbox import Sandbox
from brex_mcp.sandbox.seed import build_company

REPO_ROOT = Path(__file__).resolve().parent.parent
TXN = "/custom/v2/transactions/card/primary"
LOCK_REASONS = (
    "CARD_DAMAGED, CARD_LOST, CARD_NOT_RECEIVED, DO_NOT_NEED_PHYSICAL_CARD, DO_NOT_NEED_VIRTUAL_CARD, FRAUD, OTHER"
)


# The sandbox speaks plain HTTP, so no client needs the CA bundle httpx would otherwise load for each one.
PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


# -- fixtures and helpers -----------------------------------------------------------------------------


def http_client(sb: Sandbox, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or sb.token}"}
    return httpx.Client(base_url=sb.url, headers=headers, timeout=10, trust_env=False, verify=PLAIN_HTTP)


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """One read-mostly sandbox for the tests that do not change state."""
    with Sandbox(seed=7) as sb:
        yield sb


@pytest.fixture
def sb(shared: Sandbox) -> Iterator[Sandbox]:
    shared.clear_requests()
    shared.faults.clear()
    yield shared
    shared.faults.clear()


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    """A sandbox of its own, for tests that lock cards."""
    with Sandbox(seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    with http_client(sb) as client:
        yield client


@pytest.fixture
def fresh_api(fresh: Sandbox) -> Iterator[httpx.Client]:
    with http_client(fresh) as client:
        yield client


def get(client: httpx.Client, sb: Sandbox, path: str, **params: Any) -> httpx.Response:
    return client.get(path, params={"integrated_account_id": sb.account_id, **params})


def post(client: httpx.Client, sb: Sandbox, path: str, body: Any = None, **headers: str) -> httpx.Response:
    kwargs: dict[str, Any] = {"params": {"integrated_account_id": sb.account_id}, "headers": headers}
    if body is not None:
        kwargs["content"] = body if isinstance(body, bytes) else json.dumps(body).encode()
        kwargs["headers"] = {"Content-Type": "application/json", **headers}
    return client.post(path, **kwargs)


def remote(status: int, error: str, brex_body: dict[str, Any]) -> dict[str, Any]:
    """The body Truto sends for an error that came from Brex."""
    return {
        "statusCode": status,
        "error": error,
        "message": brex_body["message"],
        "truto_is_remote_error": True,
        "raw_response": brex_body,
    }


def bad_request(message: str) -> dict[str, Any]:
    return remote(400, "Bad Request", {"type": "BAD_REQUEST", "message": message})


def card_with(sb: Sandbox, status: str) -> dict[str, Any]:
    return next(c for c in sb.data.cards if c["status"] == status)


def walk_custom(client: httpx.Client, sb: Sandbox, path: str, limit: int, **params: Any) -> tuple[list[Any], int]:
    """Follow a custom list to the end in whichever shape the sandbox answers; (rows, pages)."""
    rows: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = dict(params, limit=limit)
        if cursor:
            query["cursor" if sb.custom_list_shape == "brex_page" else "next_cursor"] = cursor
        response = get(client, sb, path, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        if sb.custom_list_shape == "brex_page":
            assert (body["next_cursor"], body["prev_cursor"]) == (None, None)
            rows += body["result"]["items"]
            cursor = body["result"]["next_cursor"]
        else:
            assert body["result_count"] == len(body["result"])
            rows += body["result"]
            cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages


# -- Truto authentication and account selection ----------------------------------------------------------


def test_missing_token_is_a_truto_401(sb: Sandbox) -> None:
    response = httpx.get(
        f"{sb.url}/unified/user-directory/users", params={"integrated_account_id": sb.account_id}, trust_env=False
    )
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Invalid API token"}


def test_wrong_token_is_a_truto_401_without_remote_flag(sb: Sandbox) -> None:
    with http_client(sb, token="sandbox-token-wrong") as client:
        response = get(client, sb, "/custom/v2/company")
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Invalid API token"}
    assert "x-brex-trace-id" not in response.headers


def test_missing_integrated_account_id_is_a_truto_400(sb: Sandbox, api: httpx.Client) -> None:
    response = api.get("/unified/user-directory/users")
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": "missing integrated_account_id"}


def test_unknown_integrated_account_is_a_truto_404(sb: Sandbox, api: httpx.Client) -> None:
    response = api.get("/custom/v2/company", params={"integrated_account_id": "someone-else"})
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Integrated account not found"}


def test_rejected_requests_are_recorded_with_lower_cased_headers(sb: Sandbox) -> None:
    with http_client(sb, token="nope") as client:
        client.post("/custom/v2/cards/x/lock", params={"integrated_account_id": "a", "x": "1"}, content=b"{}")
    (record,) = sb.requests
    assert (record.method, record.path, record.body) == ("POST", "/custom/v2/cards/x/lock", b"{}")
    assert record.query == {"integrated_account_id": ["a"], "x": ["1"]}
    assert record.headers["authorization"] == "Bearer nope"


def test_clear_requests_empties_the_log(sb: Sandbox, api: httpx.Client) -> None:
    get(api, sb, "/custom/v2/company")
    sb.clear_requests()
    assert sb.requests == []


# -- unified user directory -----------------------------------------------------------------------------


def test_unified_list_walks_every_user_exactly_once_in_order(sb: Sandbox, api: httpx.Client) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 37, **({"next_cursor": cursor} if cursor else {})}
        body = get(api, sb, "/unified/user-directory/users", **params).json()
        assert body["result_count"] == len(body["result"]) and body["prev_cursor"] is None
        seen += [u["id"] for u in body["result"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [u["id"] for u in sb.data.users]
    assert pages == 7  # 240 users, 37 a page


def test_unified_list_defaults_to_100_and_ignores_unknown_params(sb: Sandbox, api: httpx.Client) -> None:
    body = get(api, sb, "/unified/user-directory/users", truto_ignore_remote_data="true", whatever="x").json()
    assert body["result_count"] == 100 and body["next_cursor"]


@pytest.mark.parametrize("limit", ["0", "1001", "ten"])
def test_unified_list_limit_outside_1_to_1000_is_a_truto_400(sb: Sandbox, api: httpx.Client, limit: str) -> None:
    response = get(api, sb, "/unified/user-directory/users", limit=limit)
    assert response.status_code == 400
    body = response.json()
    assert (body["statusCode"], body["error"]) == (400, "Bad Request") and "limit" in body["message"]
    assert "truto_is_remote_error" not in body


def test_unified_user_has_truto_shape_with_brex_user_as_remote_data(sb: Sandbox, api: httpx.Client) -> None:
    brex_user = sb.data.users[0]
    body = get(api, sb, f"/unified/user-directory/users/{brex_user['id']}").json()
    title = next(t["name"] for t in sb.data.titles if t["id"] == brex_user["title_id"])
    created, updated = sb.data.user_timestamps[brex_user["id"]]
    assert body == {
        "id": brex_user["id"],
        "first_name": brex_user["first_name"],
        "last_name": brex_user["last_name"],
        "name": f"{brex_user['first_name']} {brex_user['last_name']}",
        "emails": [{"email": brex_user["email"], "type": "work", "is_primary": True}],
        "status": "active",
        "title": title,
        "created_at": created,
        "updated_at": updated,
        "remote_data": brex_user,
    }
    assert title == "Chief Executive Officer"
    assert date.fromisoformat(created[:10]) <= date.fromisoformat(updated[:10])


@pytest.mark.parametrize(
    ("brex", "unified"),
    [
        ("ACTIVE", "active"),
        ("INVITED", "invited"),
        ("DISABLED", "inactive"),
        ("INACTIVE", "inactive"),
        ("DELETED", "deleted"),
        ("CLOSED", "CLOSED"),
        ("ARCHIVED", "ARCHIVED"),
        ("PENDING_ACTIVATION", "PENDING_ACTIVATION"),
    ],
)
def test_unified_status_maps_known_values_and_passes_others_raw(
    sb: Sandbox, api: httpx.Client, brex: str, unified: str
) -> None:
    user = next(u for u in sb.data.users if u["status"] == brex)
    assert get(api, sb, f"/unified/user-directory/users/{user['id']}").json()["status"] == unified


def test_unified_user_keeps_a_non_ascii_name_intact(sb: Sandbox, api: httpx.Client) -> None:
    user = next(u for u in sb.data.users if u["last_name"] == "Ødegaard")
    response = get(api, sb, f"/unified/user-directory/users/{user['id']}")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["name"] == "Søren Ødegaard"
    assert response.json()["emails"][0]["email"] == "soren.odegaard@northwind-aero.example"


def test_unified_get_unknown_user_is_a_remote_404_with_brex_body_and_trace_id(sb: Sandbox, api: httpx.Client) -> None:
    response = get(api, sb, "/unified/user-directory/users/cuuser_doesnotexist")
    assert response.status_code == 404
    assert response.json() == remote(
        404, "Not Found", {"type": "NOT_FOUND", "message": "Not Found", "code": "USER_NOT_FOUND"}
    )
    assert response.headers["x-brex-trace-id"]


def test_unified_users_are_read_only(sb: Sandbox, api: httpx.Client) -> None:
    response = post(api, sb, "/unified/user-directory/users", {"first_name": "A"})
    assert response.status_code == 405 and response.json()["error"] == "Method Not Allowed"


# -- custom passthrough: envelopes, trace ids, paging ---------------------------------------------------


def test_custom_success_wraps_the_brex_body_in_result(sb: Sandbox, api: httpx.Client) -> None:
    response = get(api, sb, "/custom/v2/company")
    assert response.json() == {"result": sb.data.company, "next_cursor": None, "prev_cursor": None}
    assert sb.data.company["accountType"] == "BREX_CLASSIC"


def test_card_accounts_are_a_bare_array_inside_result(sb: Sandbox, api: httpx.Client) -> None:
    body = get(api, sb, "/custom/v2/accounts/card").json()
    assert body["result"] == sb.data.card_accounts and isinstance(body["result"], list)


def test_every_brex_response_has_its_own_trace_id(sb: Sandbox, api: httpx.Client) -> None:
    responses = [get(api, sb, "/custom/v2/company") for _ in range(3)]
    responses.append(get(api, sb, "/custom/v2/cards/ncard_nope"))
    ids = [r.headers["x-brex-trace-id"] for r in responses]
    assert len(set(ids)) == 4


def test_brex_page_shape_walks_every_transaction_once_ascending(sb: Sandbox, api: httpx.Client) -> None:
    rows, pages = walk_custom(api, sb, TXN, 1000)
    assert [r["id"] for r in rows] == [t["id"] for t in sb.data.transactions]
    assert pages == 6
    assert rows == sorted(rows, key=lambda r: (r["posted_at_date"], r["id"]))
    assert all("cursor" in r.query and "next_cursor" not in r.query for r in sb.requests[1:])


def test_truto_envelope_shape_walks_every_transaction_once() -> None:
    with Sandbox(seed=7, custom_list_shape="truto_envelope") as sb, http_client(sb) as api:
        rows, pages = walk_custom(api, sb, TXN, 700)
        assert [r["id"] for r in rows] == [t["id"] for t in sb.data.transactions]
        assert pages == 9
        assert all("next_cursor" in r.query for r in sb.requests[1:])


def test_cursors_are_deterministic_for_the_same_data(sb: Sandbox, api: httpx.Client) -> None:
    first = get(api, sb, "/custom/v2/users", limit=5).json()["result"]["next_cursor"]
    with Sandbox(seed=7) as other, http_client(other) as client:
        assert get(client, other, "/custom/v2/users", limit=5).json()["result"]["next_cursor"] == first


def test_a_cursor_from_another_list_is_a_brex_400(sb: Sandbox, api: httpx.Client) -> None:
    cursor = get(api, sb, "/custom/v2/users", limit=5).json()["result"]["next_cursor"]
    response = get(api, sb, "/custom/v2/cards", cursor=cursor)
    assert response.status_code == 400 and response.json() == bad_request("cursor is invalid")


@pytest.mark.parametrize(
    "path",
    [
        "/custom/v2/users",
        "/custom/v2/departments",
        "/custom/v2/locations",
        "/custom/v2/titles",
        "/custom/v2/cards",
        TXN,
    ],
)
@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "limit must be between 1 and 1000, got 0"),
        ("1001", "limit must be between 1 and 1000, got 1001"),
        ("abc", "limit must be an integer between 1 and 1000"),
    ],
)
def test_brex_lists_reject_a_limit_outside_1_to_1000(
    sb: Sandbox, api: httpx.Client, path: str, limit: str, message: str
) -> None:
    response = get(api, sb, path, limit=limit)
    assert response.status_code == 400
    assert response.json() == bad_request(message)
    assert response.headers["x-brex-trace-id"]


def test_brex_lists_default_to_100_and_accept_1000(sb: Sandbox, api: httpx.Client) -> None:
    assert len(get(api, sb, TXN).json()["result"]["items"]) == 100
    assert len(get(api, sb, TXN, limit=1000).json()["result"]["items"]) == 1000


def test_posted_at_start_keeps_rows_on_or_after_its_utc_date(sb: Sandbox, api: httpx.Client) -> None:
    # 02:00 at +05:00 on 1 March is still 28 February in UTC.
    rows, _ = walk_custom(api, sb, TXN, 1000, posted_at_start="2026-03-01T02:00:00+05:00")
    assert [r["id"] for r in rows] == [t["id"] for t in sb.data.transactions if t["posted_at_date"] >= "2026-02-28"]
    assert min(r["posted_at_date"] for r in rows) == "2026-02-28"


def test_posted_at_start_accepts_a_plain_date_and_a_z_datetime(sb: Sandbox, api: httpx.Client) -> None:
    by_date, _ = walk_custom(api, sb, TXN, 1000, posted_at_start="2026-11-01")
    by_time, _ = walk_custom(api, sb, TXN, 1000, posted_at_start="2026-11-01T23:59:59.999Z")
    expected = [t["id"] for t in sb.data.transactions if t["posted_at_date"] >= "2026-11-01"]
    assert [r["id"] for r in by_date] == [r["id"] for r in by_time] == expected


def test_posted_at_start_that_is_not_a_datetime_is_a_brex_400(sb: Sandbox, api: httpx.Client) -> None:
    response = get(api, sb, TXN, posted_at_start="last tuesday")
    assert response.json() == bad_request("posted_at_start is invalid: expected an RFC 3339 date-time")


def test_user_ids_filter_repeated_or_comma_separated_returns_only_their_cards(sb: Sandbox, api: httpx.Client) -> None:
    owner = {c["id"]: c["owner"]["user_id"] for c in sb.data.cards}
    counts = Counter(owner[t["card_id"]] for t in sb.data.transactions if t["card_id"])
    (a, _), (b, _) = counts.most_common(2)
    expected = [t["id"] for t in sb.data.transactions if t["card_id"] and owner[t["card_id"]] in (a, b)]
    response = api.get(
        TXN, params=[("integrated_account_id", sb.account_id), ("limit", "1000"), ("user_ids", a), ("user_ids", b)]
    )
    repeated = [r["id"] for r in response.json()["result"]["items"]]
    comma = [r["id"] for r in get(api, sb, TXN, limit=1000, user_ids=f"{a},{b}").json()["result"]["items"]]
    assert repeated == comma == expected
    assert len(expected) == counts[a] + counts[b]


def test_user_ids_and_posted_at_start_combine(sb: Sandbox, api: httpx.Client) -> None:
    owner = {c["id"]: c["owner"]["user_id"] for c in sb.data.cards}
    user = owner[sb.data.transactions[-1]["card_id"]]
    rows, _ = walk_custom(api, sb, TXN, 3, user_ids=user, posted_at_start="2026-06-01")
    expected = [
        t["id"]
        for t in sb.data.transactions
        if t["card_id"] and owner[t["card_id"]] == user and t["posted_at_date"] >= "2026-06-01"
    ]
    assert [r["id"] for r in rows] == expected and expected


def test_users_email_filter_is_an_exact_match(sb: Sandbox, api: httpx.Client) -> None:
    target = sb.data.users[137]
    items = get(api, sb, "/custom/v2/users", email=target["email"]).json()["result"]["items"]
    assert items == [target]
    assert get(api, sb, "/custom/v2/users", email=target["email"][1:]).json()["result"]["items"] == []


def test_departments_locations_titles_filter_by_name(sb: Sandbox, api: httpx.Client) -> None:
    for path, name in (("departments", "Finance"), ("locations", "Tokyo"), ("titles", "Controller")):
        (item,) = get(api, sb, f"/custom/v2/{path}", name=name).json()["result"]["items"]
        assert item["name"] == name
        assert get(api, sb, f"/custom/v2/{path}/{item['id']}").json()["result"] == item


def test_cards_filter_by_user_id(sb: Sandbox, api: httpx.Client) -> None:
    user_id = sb.data.cards[0]["owner"]["user_id"]
    items = get(api, sb, "/custom/v2/cards", user_id=user_id).json()["result"]["items"]
    assert items == [c for c in sb.data.cards if c["owner"]["user_id"] == user_id]


@pytest.mark.parametrize(
    ("path", "brex_body"),
    [
        ("/custom/v2/users/cuuser_nope", {"type": "NOT_FOUND", "message": "Not Found", "code": "USER_NOT_FOUND"}),
        ("/custom/v2/users/cuuser_nope/limit", {"type": "NOT_FOUND", "message": "Not Found", "code": "USER_NOT_FOUND"}),
        ("/custom/v2/cards/ncard_nope", {"type": "NOT_FOUND", "message": "Card not found"}),
        ("/custom/v2/departments/cudept_nope", {"type": "NOT_FOUND", "message": "Department not found"}),
        ("/custom/v2/locations/culoc_nope", {"type": "NOT_FOUND", "message": "Location not found"}),
        ("/custom/v2/titles/cutitle_nope", {"type": "NOT_FOUND", "message": "Title not found"}),
        ("/custom/v2/expenses", {"type": "NOT_FOUND", "message": "Not Found"}),
        ("/custom/v1/transfers", {"type": "NOT_FOUND", "message": "Not Found"}),
    ],
)
def test_unknown_ids_and_paths_are_remote_404s(sb: Sandbox, api: httpx.Client, path: str, brex_body: dict) -> None:
    response = get(api, sb, path)
    assert response.status_code == 404
    assert response.json() == remote(404, "Not Found", brex_body)


def test_an_unsupported_method_is_a_remote_404(sb: Sandbox, api: httpx.Client) -> None:
    card = sb.data.cards[0]["id"]
    response = api.put(f"/custom/v2/cards/{card}", params={"integrated_account_id": sb.account_id}, json={})
    assert response.status_code == 404
    assert response.json() == remote(404, "Not Found", {"type": "NOT_FOUND", "message": "Not Found"})


def test_users_me_is_the_token_owner(sb: Sandbox, api: httpx.Client) -> None:
    me = get(api, sb, "/custom/v2/users/me").json()["result"]
    assert me["id"] == sb.data.admin_user_id and me["status"] == "ACTIVE"


def test_user_limit_is_money_or_null(sb: Sandbox, api: httpx.Client) -> None:
    active = next(u for u in sb.data.users if u["status"] == "ACTIVE")
    invited = next(u for u in sb.data.users if u["status"] == "INVITED")
    limit = get(api, sb, f"/custom/v2/users/{active['id']}/limit").json()["result"]
    assert limit["monthly_limit"]["currency"] == "USD"
    assert 0 <= limit["monthly_available"]["amount"] <= limit["monthly_limit"]["amount"]
    assert get(api, sb, f"/custom/v2/users/{invited['id']}/limit").json()["result"] == {
        "monthly_limit": None,
        "monthly_available": None,
    }


def test_card_numbers_are_always_forbidden(sb: Sandbox, api: httpx.Client) -> None:
    response = get(api, sb, f"/custom/v2/cards/{sb.data.cards[0]['id']}/pan")
    assert response.status_code == 403
    assert response.json() == remote(403, "Forbidden", {"type": "FORBIDDEN", "message": "Missing scope cards.pan"})


# -- lock and unlock --------------------------------------------------------------------------------


def lock_path(card: dict[str, Any]) -> str:
    return f"/custom/v2/cards/{card['id']}/lock"


def test_lock_with_an_unknown_reason_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "ACTIVE")
    response = post(fresh_api, fresh, lock_path(card), {"reason": "LOST"})
    assert response.status_code == 400
    assert response.json() == bad_request(f"reason is invalid: must be one of {LOCK_REASONS}")
    assert card["status"] == "ACTIVE"


def test_lock_without_a_reason_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, lock_path(card_with(fresh, "ACTIVE")), {"description": "x"})
    assert response.json() == bad_request("reason is required")


def test_lock_without_a_body_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, lock_path(card_with(fresh, "ACTIVE")))
    assert response.status_code == 400
    assert response.json() == bad_request("Request body is required: a JSON object with reason")


def test_lock_with_a_body_that_is_not_json_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, lock_path(card_with(fresh, "ACTIVE")), b"reason=OTHER")
    assert response.json() == bad_request("Request body is not valid JSON")


def test_lock_with_a_non_ascii_description_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "ACTIVE")
    response = post(fresh_api, fresh, lock_path(card), {"reason": "CARD_LOST", "description": "Perdí la tarjeta"})
    assert response.status_code == 400
    assert response.json() == bad_request("description is invalid")
    assert card["status"] == "ACTIVE"


def test_lock_of_a_locked_card_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, lock_path(card_with(fresh, "LOCKED")), {"reason": "OTHER"})
    assert response.json() == bad_request("Card is already locked")


def test_lock_of_a_terminated_card_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "TERMINATED")
    response = post(fresh_api, fresh, lock_path(card), {"reason": "OTHER"})
    assert response.json() == bad_request("Card is terminated")
    assert card["status"] == "TERMINATED"


def test_lock_of_an_unknown_card_is_a_remote_404(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, "/custom/v2/cards/ncard_nope/lock", {"reason": "OTHER"})
    assert response.status_code == 404
    assert response.json() == remote(404, "Not Found", {"type": "NOT_FOUND", "message": "Card not found"})


def test_lock_returns_the_locked_card_and_it_stays_locked(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "ACTIVE")
    response = post(fresh_api, fresh, lock_path(card), {"reason": "CARD_LOST", "description": "Left in a taxi"})
    assert response.status_code == 200
    assert response.json()["result"] == {**card, "status": "LOCKED"}
    assert response.headers["x-brex-trace-id"]
    assert get(fresh_api, fresh, f"/custom/v2/cards/{card['id']}").json()["result"]["status"] == "LOCKED"
    assert fresh.data.find("cards", card["id"])["status"] == "LOCKED"


def test_unlock_returns_a_locked_card_to_active(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "LOCKED")
    response = post(fresh_api, fresh, f"/custom/v2/cards/{card['id']}/unlock")
    assert response.status_code == 200 and response.json()["result"]["status"] == "ACTIVE"


def test_unlock_of_a_card_that_is_not_locked_is_a_brex_400(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    response = post(fresh_api, fresh, f"/custom/v2/cards/{card_with(fresh, 'ACTIVE')['id']}/unlock")
    assert response.json() == bad_request("Card is not locked")


def test_lock_with_the_same_idempotency_key_replays_without_locking_again(
    fresh: Sandbox, fresh_api: httpx.Client
) -> None:
    card = card_with(fresh, "ACTIVE")
    first = post(fresh_api, fresh, lock_path(card), {"reason": "FRAUD"}, **{"Idempotency-Key": "k-1"})
    post(fresh_api, fresh, f"/custom/v2/cards/{card['id']}/unlock")
    replay = post(fresh_api, fresh, lock_path(card), {"reason": "FRAUD"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json() and replay.json()["result"]["status"] == "LOCKED"
    assert first.headers["x-brex-trace-id"] != replay.headers["x-brex-trace-id"]
    assert card["status"] == "ACTIVE"  # the replay did not lock the card a second time
    fresh_key = post(fresh_api, fresh, lock_path(card), {"reason": "FRAUD"}, **{"Idempotency-Key": "k-2"})
    assert fresh_key.status_code == 200 and card["status"] == "LOCKED"


def test_a_failed_lock_is_not_remembered_under_its_idempotency_key(fresh: Sandbox, fresh_api: httpx.Client) -> None:
    card = card_with(fresh, "ACTIVE")
    bad = post(fresh_api, fresh, lock_path(card), {"reason": "nope"}, **{"Idempotency-Key": "k-3"})
    good = post(fresh_api, fresh, lock_path(card), {"reason": "OTHER"}, **{"Idempotency-Key": "k-3"})
    assert (bad.status_code, good.status_code) == (400, 200)


# -- faults -------------------------------------------------------------------------------------------


def test_429_fault_answers_the_next_n_requests_then_recovers(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix="/custom/v2/transactions", status=429, times=2, headers={"Retry-After": "0"})
    responses = [get(api, sb, TXN, limit=1) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "0"
    assert responses[0].json() == {"statusCode": 429, "error": "Too Many Requests", "message": "Injected fault"}
    assert len(sb.requests) == 3 and sb.faults.pending == []


def test_fault_only_hits_its_method_and_prefix(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix="/custom/v2/cards", status=503, method="POST")
    assert get(api, sb, "/custom/v2/cards", limit=1).status_code == 200
    assert get(api, sb, "/custom/v2/company").status_code == 200
    assert post(api, sb, "/custom/v2/cards/x/lock", {"reason": "OTHER"}).status_code == 503


def test_fault_with_a_body_sends_it_verbatim(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix="/custom", status=502, body="<html>bad gateway</html>")
    response = get(api, sb, "/custom/v2/company")
    assert (response.status_code, response.text) == (502, "<html>bad gateway</html>")
    assert response.headers["content-type"].startswith("text/plain")


def test_remote_fault_looks_like_a_relayed_brex_error(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix="/custom", status=500, remote=True)
    response = get(api, sb, "/custom/v2/company")
    assert response.json() == remote(
        500, "Internal Server Error", {"type": "INTERNAL_SERVER_ERROR", "message": "Injected fault"}
    )
    assert response.headers["x-brex-trace-id"]


def test_reset_fault_drops_the_connection_without_an_answer(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix=TXN, kind="reset", times=1)
    with pytest.raises(httpx.TransportError):
        get(api, sb, TXN, limit=1)
    assert get(api, sb, TXN, limit=1).status_code == 200
    assert [r.path for r in sb.requests] == [TXN, TXN]


def test_delay_fault_stalls_then_answers_normally(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix=TXN, kind="delay", seconds=0.2, times=1)
    started = time.monotonic()
    response = get(api, sb, TXN, limit=1)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200 and len(response.json()["result"]["items"]) == 1


def test_faults_clear_disarms_everything(sb: Sandbox, api: httpx.Client) -> None:
    sb.faults.add(path_prefix="/", status=500, times=None)
    sb.faults.clear()
    assert get(api, sb, "/custom/v2/company").status_code == 200


def test_fault_arguments_are_checked() -> None:
    faults = Sandbox().faults
    with pytest.raises(ValueError):
        faults.add(path_prefix="/custom")
    with pytest.raises(ValueError):
        faults.add(path_prefix="/custom", kind="delay")
    with pytest.raises(ValueError):
        faults.add(path_prefix="/custom", status=429, times=0)


# -- HTTP plumbing and lifecycle ------------------------------------------------------------------------


def test_responses_keep_the_connection_alive_with_content_length(sb: Sandbox) -> None:
    host, port = sb.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        first_socket = None
        for path, auth in (
            (f"/custom/v2/company?integrated_account_id={sb.account_id}", sb.token),
            ("/custom/v2/company", "wrong"),
            (f"/custom/v2/nope?integrated_account_id={sb.account_id}", sb.token),
        ):
            conn.request("GET", path, headers={"Authorization": f"Bearer {auth}"})
            response = conn.getresponse()
            body = response.read()
            assert response.getheader("Content-Length") == str(len(body))
            assert not response.will_close
            first_socket = first_socket or conn.sock
            assert conn.sock is first_socket
    finally:
        conn.close()


def test_start_is_idempotent_and_stop_closes_the_port() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    url = sandbox.start()
    assert sandbox.start() == url == sandbox.url and url.startswith("http://127.0.0.1:")
    assert sandbox.token.startswith("sandbox-token-") and sandbox.account_id == "sandbox-account"
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/custom/v2/company", trust_env=False)


def test_unknown_list_shape_is_refused() -> None:
    with pytest.raises(ValueError):
        Sandbox(custom_list_shape="pages")  # type: ignore[arg-type]


def test_importing_the_sandbox_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, brex_mcp.sandbox; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'pydantic', 'mcp', 'anyio')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=30)
    assert done.stdout.strip() == "[]", done.stderr


def test_python_dash_m_serves_in_the_foreground_and_logs_to_stderr() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "brex_mcp.sandbox", "--port", str(port), "--token", "t0k"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/custom/v2/company",
                    trust_env=False,
                    params={"integrated_account_id": "sandbox-account"},
                    headers={"Authorization": "Bearer t0k"},
                )
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out == b""
    assert f"http://127.0.0.1:{port}".encode() in err


# -- the seeded company ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    first = build_company(7)
    assert first == build_company(7) == Sandbox(seed=7).data
    assert build_company(8).users != first.users


def test_each_sandbox_gets_its_own_copy_of_the_data() -> None:
    one, two = Sandbox(seed=7), Sandbox(seed=7)
    one.data.cards[0]["card_name"] = "changed"
    assert two.data.cards[0]["card_name"] != "changed"
    assert Sandbox(seed=7).data.cards[0]["card_name"] != "changed"


def test_seeding_is_fast() -> None:
    best = min(_timed(build_company, 11 + i) for i in range(2))
    assert best < 0.3  # the budget is 150 ms on a developer machine; slack for slow CI runners


def _timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def test_users_are_many_varied_and_consistent(sb: Sandbox) -> None:
    users = sb.data.users
    ids = {u["id"] for u in users}
    assert len(users) >= 200 and len(ids) == len(users)
    assert sum(not (u["first_name"] + u["last_name"]).isascii() for u in users) >= 15
    emails = [u["email"] for u in users]
    assert len(set(emails)) == len(emails) and all(
        e.isascii() and e.endswith("@northwind-aero.example") for e in emails
    )
    statuses = Counter(u["status"] for u in users)
    assert statuses["ACTIVE"] > len(users) // 2
    assert all(statuses[s] >= 5 for s in ("INVITED", "DISABLED", "DELETED", "PENDING_ACTIVATION", "ARCHIVED"))
    assert all(u["id"].startswith("cuuser_") and len(u["id"]) == 27 and u["id"][7:].isalnum() for u in users)
    assert all(u["manager_id"] in ids for u in users if u["manager_id"]) and users[0]["manager_id"] is None
    references = {"department_id": "departments", "location_id": "locations", "title_id": "titles"}
    for key, collection in references.items():
        known = {x["id"] for x in sb.data[collection]}
        assert all(u[key] in known for u in users if u[key])
    assert len(sb.data.departments) == 8 and len(sb.data.locations) == 5 and len(sb.data.titles) == 15


def test_cards_cover_every_status_type_and_limit_kind(sb: Sandbox) -> None:
    cards = sb.data.cards
    assert len(cards) >= 300
    statuses = Counter(c["status"] for c in cards)
    assert all(statuses[s] >= 20 for s in ("ACTIVE", "SHIPPED", "LOCKED", "TERMINATED"))
    assert {c["card_type"] for c in cards} == {"VIRTUAL", "PHYSICAL"}
    for card in cards:
        assert card["id"].startswith("ncard_") and len(card["last_four"]) == 4
        if card["limit_type"] == "CARD":
            assert card["card_type"] == "VIRTUAL" and card["spend_controls"]["spend_limit"]["amount"] > 0
        else:
            assert card["limit_type"] == "USER" and card["spend_controls"] is None
    assert any(c["limit_type"] == "CARD" for c in cards)


def test_some_leavers_still_hold_an_active_card(sb: Sandbox) -> None:
    status = {u["id"]: u["status"] for u in sb.data.users}
    leavers = [
        c for c in sb.data.cards if c["status"] == "ACTIVE" and status[c["owner"]["user_id"]] in ("DISABLED", "DELETED")
    ]
    assert len(leavers) >= 3


def test_transactions_are_many_multi_currency_and_correctly_signed(sb: Sandbox) -> None:
    rows = sb.data.transactions
    assert len(rows) >= 5000
    currencies = Counter(t["amount"]["currency"] for t in rows)
    assert len(currencies) >= 5 and currencies["JPY"] > 0 and currencies["KWD"] > 0
    assert currencies.most_common(1)[0][0] == "USD"
    card_ids = {c["id"] for c in sb.data.cards}
    for t in rows:
        assert isinstance(t["amount"]["amount"], int)
        assert t["initiated_at_date"] <= t["posted_at_date"]
        assert "2025-12-01" <= t["posted_at_date"] <= "2026-11-30"
        if t["type"] == "PURCHASE":
            assert t["amount"]["amount"] > 0 and t["card_id"] in card_ids and t["merchant"]
        elif t["type"] in ("REFUND", "CHARGEBACK"):
            assert t["amount"]["amount"] < 0 and t["merchant"] and t["card_id"] in card_ids
        else:
            assert t["type"] in ("COLLECTION", "REWARDS_CREDIT")
            assert t["amount"]["amount"] < 0 and t["card_id"] is None and t["merchant"] is None
    types = Counter(t["type"] for t in rows)
    assert all(types[k] > 0 for k in ("PURCHASE", "REFUND", "CHARGEBACK", "COLLECTION", "REWARDS_CREDIT"))
    assert [t["id"] for t in rows] == [t["id"] for t in sorted(rows, key=lambda t: (t["posted_at_date"], t["id"]))]
    assert all(t["description"] == "Payment - Thank you" for t in rows if t["type"] == "COLLECTION")


def test_merchants_are_brex_shaped(sb: Sandbox) -> None:
    merchants = [t["merchant"] for t in sb.data.transactions if t["merchant"]]
    assert all(len(m["mcc"]) == 4 and m["mcc"].isdigit() for m in merchants)
    assert all(len(m["country"]) == 3 and m["country"].isupper() for m in merchants)
    kuwait = {m["raw_descriptor"] for m in merchants if m["country"] == "KWT"}
    assert any("KUWAIT CITY" in d for d in kuwait)


def test_data_supports_item_access_too(sb: Sandbox) -> None:
    assert sb.data["users"] is sb.data.users
    with pytest.raises(KeyError):
        sb.data["nope"]
