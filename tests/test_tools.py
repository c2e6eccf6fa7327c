"""Every tool through a real in-memory MCP client, in both protocol eras, against the sandbox."""

from __future__ import annotations

from datetime import date

import jsonschema
import pytest

from brex_mcp.money import format_minor

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[("truto", "auto"), ("truto", "legacy"), ("brex", "auto")], ids="-".join)
async def client(sandbox, request):
    """Both backends pass the same tool tests: Truto in both protocol eras, Brex direct in the modern one.

    These tests read whole listings to check the data itself, so results may be larger than the default budget
    (which has its own tests)."""
    from mcp import Client

    from brex_mcp.server import build_server
    from tests.conftest import settings_for

    backend, mode = request.param
    settings = settings_for(sandbox, backend=backend, max_result_bytes=512 * 1024)
    async with Client(build_server(settings), mode=mode) as c:
        yield c


TOOL_NAMES = {
    "list_users",
    "get_user",
    "freeze_card",
    "list_transactions",
    "proxy_request",
    "list_cards",
    "get_card",
    "unfreeze_card",
    "offboard_user",
    "spend_summary",
    "list_accounts",
    "issue_card",
    "onboard_user",
    "list_expenses",
    "attach_receipt",
    "update_expense_memo",
}
WRITE_TOOLS = {
    "freeze_card",
    "proxy_request",
    "unfreeze_card",
    "offboard_user",
    "issue_card",
    "onboard_user",
    "attach_receipt",
    "update_expense_memo",
}
UNIFIED_STATUS = {
    "ACTIVE": "active",
    "INVITED": "invited",
    "DISABLED": "inactive",
    "INACTIVE": "inactive",
    "DELETED": "deleted",
}


_schemas: dict[int, dict] = {}


@pytest.fixture
def settings(sandbox):
    """These tests read whole listings to check the data itself; the result budget is tested on its own
    (test_output_budget.py), so here pages are allowed to come back whole."""
    from tests.conftest import settings_for

    return settings_for(sandbox, max_result_bytes=512 * 1024)


async def call(client, name, args=None):
    """Call a tool and check its structured output against the tool's own published output schema."""
    result = await client.call_tool(name, args or {})
    if not result.is_error:
        if id(client) not in _schemas:
            _schemas[id(client)] = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        jsonschema.validate(result.structured_content, _schemas[id(client)][name])
    return result


def error_text(result) -> str:
    assert result.is_error, result.structured_content
    return " ".join(block.text for block in result.content)


def card_with(sandbox, status):
    return next(c for c in sandbox.data.cards if c["status"] == status)


def user_by_id(sandbox, user_id):
    return next(u for u in sandbox.data.users if u["id"] == user_id)


# -- listing ------------------------------------------------------------------------------------------


async def test_every_tool_is_listed_with_a_title_and_every_annotation_set(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        hints = tool.annotations
        assert tool.title and tool.description and tool.output_schema
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)


async def test_only_the_write_tools_are_marked_as_writes(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    writes = {name for name, t in tools.items() if not t.annotations.read_only_hint}
    assert writes == WRITE_TOOLS
    assert tools["freeze_card"].annotations.destructive_hint is True


# -- users --------------------------------------------------------------------------------------------


async def test_list_users_returns_a_first_page_and_a_cursor(client):
    page = (await call(client, "list_users")).structured_content
    assert (len(page["users"]), page["has_more"]) == (25, True)
    assert page["next_cursor"]


async def test_list_users_pages_through_every_user_exactly_once(client, sandbox):
    seen, cursor = [], None
    while True:
        page = (await call(client, "list_users", {"limit": 100, "cursor": cursor})).structured_content
        seen += [u["id"] for u in page["users"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(u["id"] for u in sandbox.data.users)


async def test_list_users_finds_one_user_by_email_in_any_case(client, sandbox):
    target = sandbox.data.users[137]
    page = (await call(client, "list_users", {"email": target["email"].upper()})).structured_content
    assert [u["id"] for u in page["users"]] == [target["id"]]


async def test_list_users_with_an_unknown_email_is_an_empty_list(client):
    page = (await call(client, "list_users", {"email": "nobody@nowhere.example"})).structured_content
    assert page == {"users": [], "has_more": False}


async def test_list_users_status_filter_keeps_paging_without_losing_anyone(client, sandbox):
    expected = sorted(u["id"] for u in sandbox.data.users if UNIFIED_STATUS.get(u["status"]) == "inactive")
    seen, cursor = [], None
    while True:
        args = {"limit": 7, "status": "inactive", **({"cursor": cursor} if cursor else {})}
        page = (await call(client, "list_users", args)).structured_content
        assert all(u["status"] == "inactive" for u in page["users"])
        seen += [u["id"] for u in page["users"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == expected and len(expected) >= 5


@pytest.mark.parametrize("args", [{"limit": 0}, {"limit": 101}, {"cursor": "!!"}, {"status": "gone"}])
async def test_list_users_rejects_bad_input_before_any_request(client, sandbox, args):
    result = await client.call_tool("list_users", args)
    assert result.is_error
    assert sandbox.requests == []


async def test_list_users_rejects_a_cursor_it_did_not_make(client, sandbox):
    assert "cursor is not valid" in error_text(await client.call_tool("list_users", {"cursor": "bm90LWEtY3Vyc29y"}))
    assert sandbox.requests == []


async def test_get_user_returns_a_non_ascii_name_intact(client, sandbox):
    user = next(u for u in sandbox.data.users if not (u["first_name"] + u["last_name"]).isascii())
    detail = (await call(client, "get_user", {"user_id": user["id"]})).structured_content
    assert detail["name"] == f"{user['first_name']} {user['last_name']}"
    assert (detail["email"], detail["brex_status"]) == (user["email"], user["status"])


async def test_get_user_with_an_unknown_id_is_an_error_naming_not_found(client):
    text = error_text(await client.call_tool("get_user", {"user_id": "cuuser_unknown"}))
    assert '"error":"not_found"' in text and '"status":404' in text and "brex_trace_id" in text


@pytest.mark.parametrize("user_id", ["../cards", "a/b", "", "x" * 200, "id?x=1", "é"])
async def test_get_user_rejects_ids_that_are_not_ids_before_any_request(client, sandbox, user_id):
    assert (await client.call_tool("get_user", {"user_id": user_id})).is_error
    assert sandbox.requests == []


# -- transactions -------------------------------------------------------------------------------------


async def all_transactions(client, **filters):
    rows, cursor = [], None
    while True:
        args = {"limit": 200, **filters, **({"cursor": cursor} if cursor else {})}
        page = (await call(client, "list_transactions", args)).structured_content
        rows += page["transactions"]
        if not page["has_more"]:
            return rows
        cursor = page["next_cursor"]


async def test_transactions_keep_minor_units_and_use_each_currency_exponent(client, sandbox):
    for currency in ("JPY", "KWD", "USD", "EUR"):
        source = next(t for t in sandbox.data.transactions if t["amount"]["currency"] == currency)
        day = source["posted_at_date"]
        rows = {r["id"]: r for r in await all_transactions(client, posted_at_start=day, posted_at_end=day)}
        amount = source["amount"]["amount"]
        assert rows[source["id"]]["amount"] == {
            "amount": amount,
            "currency": currency,
            "display": format_minor(amount, currency),
        }


async def test_refunds_and_payments_are_negative(client):
    rows = await all_transactions(client, posted_at_start="2026-03-01", posted_at_end="2026-04-30")
    kinds = {r["type"] for r in rows if r["amount"]["amount"] < 0}
    assert {"REFUND", "COLLECTION"} <= kinds
    assert all(r["amount"]["amount"] > 0 for r in rows if r["type"] == "PURCHASE")


async def test_date_window_is_inclusive_in_utc_and_matches_an_independent_count(client, sandbox):
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    rows = await all_transactions(client, posted_at_start="2026-03-01", posted_at_end="2026-03-31T23:00:00-05:00")
    # 23:00 at UTC-5 is 04:00 on April 1st in UTC: the window ends on April 1st.
    end = date(2026, 4, 1)
    expected = sorted(
        t["id"] for t in sandbox.data.transactions if start <= date.fromisoformat(t["posted_at_date"]) <= end
    )
    assert sorted(r["id"] for r in rows) == expected and expected


async def test_user_ids_filter_returns_only_that_users_cards(client, sandbox):
    owner = {c["id"]: c["owner"]["user_id"] for c in sandbox.data.cards}
    some_user = owner[next(t["card_id"] for t in sandbox.data.transactions if t["card_id"])]
    rows = await all_transactions(client, user_ids=[some_user])
    assert rows and {owner[r["card_id"]] for r in rows} == {some_user}


async def test_start_after_end_is_refused_before_any_request(client, sandbox):
    result = await client.call_tool(
        "list_transactions", {"posted_at_start": "2026-05-02", "posted_at_end": "2026-05-01"}
    )
    assert "is after" in error_text(result)
    assert sandbox.requests == []


# -- freeze -------------------------------------------------------------------------------------------


def posts_to(sandbox, card_id):
    path = f"/v2/cards/{card_id}/lock"
    return [r for r in sandbox.requests if r.method == "POST" and r.path.removeprefix("/custom") == path]


async def test_freeze_locks_an_active_card_and_reports_both_statuses(client, sandbox):
    card = card_with(sandbox, "ACTIVE")
    out = (await call(client, "freeze_card", {"card_id": card["id"], "reason": "CARD_LOST"})).structured_content
    assert (out["previous_status"], out["status"], out["changed"]) == ("ACTIVE", "LOCKED", True)
    assert out["confirmation"] == "client_cannot_ask"
    (post,) = posts_to(sandbox, card["id"])
    assert post.headers["idempotency-key"] == out["idempotency_key"]
    assert card_with_id(sandbox, card["id"])["status"] == "LOCKED"


def card_with_id(sandbox, card_id):
    return next(c for c in sandbox.data.cards if c["id"] == card_id)


async def test_freeze_of_a_locked_card_says_so_and_sends_no_lock(client, sandbox):
    card = card_with(sandbox, "LOCKED")
    out = (await call(client, "freeze_card", {"card_id": card["id"], "reason": "FRAUD"})).structured_content
    assert (out["previous_status"], out["status"], out["changed"]) == ("LOCKED", "LOCKED", False)
    assert posts_to(sandbox, card["id"]) == []


async def test_freeze_of_a_terminated_card_is_an_error_and_sends_no_lock(client, sandbox):
    card = card_with(sandbox, "TERMINATED")
    assert "TERMINATED" in error_text(await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "OTHER"}))
    assert posts_to(sandbox, card["id"]) == []


async def test_freeze_of_an_unknown_card_is_not_found(client):
    assert '"status":404' in error_text(
        await client.call_tool("freeze_card", {"card_id": "ncard_x", "reason": "OTHER"})
    )


@pytest.mark.parametrize(
    "args",
    [
        {"reason": "STOLEN"},
        {"reason": "FRAUD", "description": "vol signalé à la police"},
        {"reason": "FRAUD", "description": "line\nbreak"},
        {"reason": "FRAUD", "description": "x" * 301},
        {},
    ],
)
async def test_freeze_rejects_bad_input_before_any_request(client, sandbox, args):
    card = card_with(sandbox, "ACTIVE")
    assert (await client.call_tool("freeze_card", {"card_id": card["id"], **args})).is_error
    assert sandbox.requests == []


async def test_freeze_sends_reason_and_ascii_description(client, sandbox):
    import json

    card = card_with(sandbox, "ACTIVE")
    await call(client, "freeze_card", {"card_id": card["id"], "reason": "FRAUD", "description": "Reported stolen"})
    (post,) = posts_to(sandbox, card["id"])
    assert json.loads(post.body) == {"reason": "FRAUD", "description": "Reported stolen"}


# -- proxy --------------------------------------------------------------------------------------------


async def test_proxy_get_returns_brex_status_and_body(client, sandbox):
    out = await call(client, "proxy_request", {"method": "GET", "path": "/v2/departments", "query": {"limit": 2}})
    data = out.structured_content
    assert data["status"] == 200 and len(data["data"]["items"]) == 2 and data["brex_trace_id"]


async def test_proxy_missing_object_is_a_404_error_not_an_empty_result(client):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/cards/ncard_nope"})
    assert '"status":404' in error_text(result)


async def test_proxy_refuses_an_endpoint_brex_does_not_document_before_any_request(client, sandbox):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/nothing"})
    assert "not a documented Brex endpoint" in error_text(result)
    assert sandbox.requests == []


async def test_proxy_reaches_undocumented_endpoints_only_when_the_operator_allows(sandbox):
    from mcp import Client

    from brex_mcp.server import build_server
    from tests.conftest import settings_for

    async with Client(build_server(settings_for(sandbox, allow_unknown_endpoints=True))) as client:
        result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/nothing"})
    assert '"status":404' in error_text(result)
    assert [r.path for r in sandbox.requests] == ["/custom/v2/nothing"]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/cards/../users",
        "/v2/cards/%2e%2e/users",
        "/v2/cards%2Fx",
        "//evil.example/v2/users",
        "https://evil.example/v2/users",
        "/v2\\users",
        "/v2/users?limit=1",
        "/v2/users#frag",
        "/v2/users\r\nX-Injected: 1",
        "/v2/cards/\u2024\u2024/users",
        "/v2//users",
        "/v3/users",
        "v2/users",
        "/v2/cards/ncard_1/pan",
        "/v2/cards/ncard_1/secure_email",
    ],
)
async def test_proxy_refuses_paths_that_are_not_plain_brex_paths_before_any_request(client, sandbox, path):
    assert (await client.call_tool("proxy_request", {"method": "GET", "path": path})).is_error
    assert sandbox.requests == []


async def test_proxy_cannot_choose_another_integrated_account(client, sandbox):
    args = {"method": "GET", "path": "/v2/users", "query": {"integrated_account_id": "other"}}
    assert "integrated_account_id" in error_text(await client.call_tool("proxy_request", args))
    assert sandbox.requests == []


async def test_proxy_write_carries_an_idempotency_key(client, sandbox):
    card = card_with(sandbox, "LOCKED")
    out = await call(client, "proxy_request", {"method": "POST", "path": f"/v2/cards/{card['id']}/unlock"})
    assert out.structured_content["data"]["status"] == "ACTIVE"
    (post,) = [r for r in sandbox.requests if r.method == "POST"]
    assert post.headers["idempotency-key"]


async def test_proxy_get_with_a_body_is_refused(client, sandbox):
    assert (await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/users", "body": {"a": 1}})).is_error
    assert sandbox.requests == []
