"""list_cards, get_card, unfreeze_card and list_accounts against the sandbox, in both protocol eras."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from brex_mcp.server import build_server
from tests.conftest import settings_for
from tests.test_tools import call, error_text
from tests.test_write_safety import YES, answering, audit_lines, writes_sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings):
    """One protocol era is enough for what this file checks; the era-specific paths (confirmation) are
    exercised with both eras explicitly, and tests/test_tools.py covers every tool in both."""
    async with Client(build_server(settings)) as c:
        yield c


def person(sandbox, user_id):
    user = next(u for u in sandbox.data.users if u["id"] == user_id)
    return f"{user['first_name']} {user['last_name']}"


async def all_cards(client, **args):
    cards, cursor = [], None
    while True:
        page = (await call(client, "list_cards", {**args, **({"cursor": cursor} if cursor else {})})).structured_content
        cards += page["cards"]
        if not page["has_more"]:
            return cards
        cursor = page["next_cursor"]


# -- list_cards -----------------------------------------------------------------------------------------


async def test_list_cards_status_filter_pages_every_matching_card_exactly_once(client, sandbox):
    cards = await all_cards(client, status=["LOCKED", "SHIPPED"], limit=7)
    expected = sorted(c["id"] for c in sandbox.data.cards if c["status"] in ("LOCKED", "SHIPPED"))
    assert sorted(c["id"] for c in cards) == expected and len(expected) >= 48
    assert {c["status"] for c in cards} == {"LOCKED", "SHIPPED"}


async def test_list_cards_of_one_user_shows_the_owner_name_by_default(client, sandbox):
    owner = sandbox.data.cards[0]["owner"]["user_id"]
    cards = await all_cards(client, user_id=owner)
    assert sorted(c["id"] for c in cards) == sorted(
        c["id"] for c in sandbox.data.cards if c["owner"]["user_id"] == owner
    )
    assert {c["owner_name"] for c in cards} == {person(sandbox, owner)}
    assert set(cards[0]) == {"id", "status", "last_four", "card_name", "card_type", "owner_name"}


async def test_list_cards_fields_choose_what_each_row_carries(client, sandbox):
    page = (await call(client, "list_cards", {"limit": 5, "fields": ["limit_type", "expiration"]})).structured_content
    assert all(set(c) == {"id", "limit_type", "expiration"} for c in page["cards"])
    source = sandbox.data.cards[0]
    assert (
        page["cards"][0]["expiration"]
        == f"{source['expiration_date']['year']}-{source['expiration_date']['month']:02d}"
    )


async def test_list_cards_owner_names_cost_one_user_list_fetch_not_one_per_row(client, sandbox):
    await call(client, "list_cards", {"limit": 100})
    assert [r.path for r in sandbox.requests].count("/custom/v2/users") == 1


async def test_list_cards_rejects_bad_input_before_any_request(client, sandbox):
    for args in ({"status": ["FROZEN"]}, {"user_id": "../x"}, {"fields": ["number"]}, {"limit": 0}):
        assert (await client.call_tool("list_cards", args)).is_error, args
    assert sandbox.requests == []


# -- get_card -------------------------------------------------------------------------------------------


async def test_get_card_of_a_vendor_card_shows_its_spend_controls_in_minor_units(client, sandbox):
    source = next(c for c in sandbox.data.cards if c["limit_type"] == "CARD")
    card = (await call(client, "get_card", {"card_id": source["id"]})).structured_content
    controls = source["spend_controls"]
    assert card["owner_name"] == person(sandbox, source["owner"]["user_id"])
    assert card["spend_controls"]["spend_limit"]["amount"] == controls["spend_limit"]["amount"]
    assert card["spend_controls"]["spend_duration"] == controls["spend_duration"]
    assert (card["limit_type"], card["status"]) == ("CARD", source["status"])


async def test_get_card_of_an_unknown_card_is_a_404_error(client):
    assert '"status":404' in error_text(await client.call_tool("get_card", {"card_id": "ncard_nope"}))


# -- unfreeze_card --------------------------------------------------------------------------------------


def locked_card(sandbox):
    return next(c for c in sandbox.data.cards if c["status"] == "LOCKED")


async def test_unfreeze_unlocks_a_locked_card_with_an_idempotency_key(client, sandbox):
    card = locked_card(sandbox)
    out = (await call(client, "unfreeze_card", {"card_id": card["id"]})).structured_content
    assert (out["previous_status"], out["status"], out["changed"]) == ("LOCKED", "ACTIVE", True)
    (post,) = writes_sent(sandbox)
    assert (post.path, post.body, post.headers["idempotency-key"]) == (
        f"/custom/v2/cards/{card['id']}/unlock",
        b"",
        out["idempotency_key"],
    )


async def test_unfreeze_of_an_active_card_sends_nothing(client, sandbox):
    card = next(c for c in sandbox.data.cards if c["status"] == "ACTIVE")
    out = (await call(client, "unfreeze_card", {"card_id": card["id"]})).structured_content
    assert (out["changed"], out["status"]) == (False, "ACTIVE")
    assert writes_sent(sandbox) == []


async def test_unfreeze_of_a_terminated_card_is_an_error_and_sends_nothing(client, sandbox):
    card = next(c for c in sandbox.data.cards if c["status"] == "TERMINATED")
    assert "TERMINATED" in error_text(await client.call_tool("unfreeze_card", {"card_id": card["id"]}))
    assert writes_sent(sandbox) == []


async def test_unfreeze_dry_run_shows_the_request_and_sends_nothing(client, sandbox):
    card = locked_card(sandbox)
    out = (await call(client, "unfreeze_card", {"card_id": card["id"], "dry_run": True})).structured_content
    assert out["would_send"] == {"method": "POST", "path": f"/v2/cards/{card['id']}/unlock"}
    assert writes_sent(sandbox) == [] and card["status"] == "LOCKED"


async def test_unfreeze_asks_naming_card_and_owner_and_a_no_sends_nothing(sandbox, mode):
    settings = settings_for(sandbox)
    card = locked_card(sandbox)
    questions: list[str] = []
    async with Client(
        build_server(settings), mode=mode, elicitation_callback=answering("decline", None, questions)
    ) as c:
        result = await c.call_tool("unfreeze_card", {"card_id": card["id"]})
    assert result.is_error and writes_sent(sandbox) == []
    owner = person(sandbox, card["owner"]["user_id"])
    assert questions == [
        f"Unlock Brex card ending {card['last_four']} ({card['card_name']}) of {owner} ({card['owner']['user_id']})? "
        "Purchases on it will be accepted again."
    ]
    assert [e["outcome"] for e in audit_lines(settings)] == ["declined"]


async def test_unfreeze_on_yes_is_audited_as_confirmed(sandbox):
    settings = settings_for(sandbox)
    card = locked_card(sandbox)
    async with Client(build_server(settings), elicitation_callback=YES) as c:
        out = (await c.call_tool("unfreeze_card", {"card_id": card["id"]})).structured_content
    (line,) = audit_lines(settings)
    assert (out["confirmation"], line["outcome"], line["arguments"]["confirmation"]) == (
        "confirmed_by_user",
        "success",
        "confirmed_by_user",
    )


async def test_unfreeze_is_hidden_in_read_only_mode(sandbox):
    async with Client(build_server(settings_for(sandbox, read_only=True))) as c:
        names = {t.name for t in (await c.list_tools()).tools}
    assert "unfreeze_card" not in names and "list_cards" in names


# -- list_accounts --------------------------------------------------------------------------------------


async def test_list_accounts_returns_card_and_cash_balances_in_minor_units(client, sandbox):
    out = (await call(client, "list_accounts")).structured_content
    (card,) = out["card_accounts"]
    source = sandbox.data.card_accounts[0]
    assert card["current_balance"] == {"amount": 48_213_577, "currency": "USD", "display": "482,135.77 USD"}
    assert card["account_limit"]["amount"] == source["account_limit"]["amount"]
    cash = {a["name"]: a for a in out["cash_accounts"]}
    assert cash["Operating"]["primary"] is True and cash["Reserve"]["primary"] is False
    assert cash["Operating"]["account_number_last_four"] == "1937"
    assert "8202441937" not in json.dumps(out)


async def test_list_accounts_reports_a_cash_failure_and_still_returns_card_accounts(client, sandbox):
    sandbox.faults.add(path_prefix="/custom/v2/accounts/cash", status=401, remote=True)
    out = (await call(client, "list_accounts")).structured_content
    assert len(out["card_accounts"]) == 1 and "cash_accounts" not in out
    assert "401" in out["cash_accounts_error"]


async def test_list_accounts_cash_only_failure_is_an_error(client, sandbox):
    sandbox.faults.add(path_prefix="/custom/v2/accounts/cash", status=403, remote=True)
    assert '"status":403' in error_text(await client.call_tool("list_accounts", {"kind": "cash"}))
