"""issue_card and onboard_user end to end against the sandbox: happy paths, dry runs, declines, retries, bad input."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.types import ElicitResult

from brex_mcp.server import build_server
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio


def answering(action, content=None, questions=None):
    async def callback(_context, params):
        if questions is not None:
            questions.append(params.message)
        return ElicitResult(action=action, content=content)

    return callback


YES = answering("accept", {"confirm": True})
NEW_HIRE = "ada.lovelace@northwind-aero.example"


def writes_sent(sandbox):
    return [r for r in sandbox.requests if r.method != "GET"]


def audit_lines(settings):
    if not settings.audit_log.exists():
        return []
    return [json.loads(line) for line in settings.audit_log.read_text().splitlines()]


def active_user(sandbox, index=10):
    return [u for u in sandbox.data.users if u["status"] == "ACTIVE"][index]


async def call(settings, tool, arguments, mode="auto", callback=YES):
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        return await client.call_tool(tool, arguments)


def card_args(user, **extra):
    return {
        "user": user["email"],
        "card_name": "AWS",
        "spend_limit": {"currency": "USD", "decimal": "1500.00"},
        "spend_duration": "MONTHLY",
        "lock_after_date": "2099-06-30",
        **extra,
    }


def cards_named(sandbox, user, name):
    return [c for c in sandbox.data.cards if c["owner"]["user_id"] == user["id"] and c["card_name"] == name]


# -- issue_card ---------------------------------------------------------------------------------------


async def test_issue_card_creates_a_virtual_card_with_its_own_exact_limit(sandbox, mode):
    user = active_user(sandbox)
    questions = []
    result = await call(
        settings_for(sandbox), "issue_card", card_args(user), mode, answering("accept", {"confirm": True}, questions)
    )
    card = result.structured_content["card"]
    [stored] = cards_named(sandbox, user, "AWS")
    assert (card["id"], card["last_four"], card["status"]) == (stored["id"], stored["last_four"], "ACTIVE")
    assert stored["spend_controls"]["spend_limit"] == {"amount": 150000, "currency": "USD"}
    assert (stored["card_type"], stored["limit_type"], stored["spend_controls"]["lock_after_date"]) == (
        "VIRTUAL",
        "CARD",
        "2099-06-30",
    )
    assert card["spend_limit"]["display"] == "1,500.00 USD" and "number" not in json.dumps(card)
    assert "1,500.00 USD" in questions[0] and user["first_name"] in questions[0]


async def test_issue_card_sends_the_derived_idempotency_key(sandbox):
    result = await call(settings_for(sandbox), "issue_card", card_args(active_user(sandbox)))
    [post] = writes_sent(sandbox)
    assert post.headers["idempotency-key"] == result.structured_content["idempotency_key"]


async def test_retrying_the_same_issuance_from_a_new_server_gets_the_same_card(sandbox):
    user = active_user(sandbox)
    first = await call(settings_for(sandbox), "issue_card", card_args(user))
    again = await call(settings_for(sandbox), "issue_card", card_args(user))
    assert first.structured_content["card"]["id"] == again.structured_content["card"]["id"]
    assert len(cards_named(sandbox, user, "AWS")) == 1
    keys = {r.headers["idempotency-key"] for r in writes_sent(sandbox)}
    assert len(writes_sent(sandbox)) == 2 and len(keys) == 1


async def test_a_different_limit_is_a_different_issuance(sandbox):
    user = active_user(sandbox)
    await call(settings_for(sandbox), "issue_card", card_args(user))
    await call(settings_for(sandbox), "issue_card", card_args(user, spend_limit={"currency": "USD", "amount": 150001}))
    assert len(cards_named(sandbox, user, "AWS")) == 2


async def test_issue_card_dry_run_sends_nothing_and_shows_the_request(sandbox):
    settings = settings_for(sandbox)
    user = active_user(sandbox)
    result = await call(settings, "issue_card", card_args(user, dry_run=True))
    planned = result.structured_content["would_send"]
    assert planned["body"]["spend_controls"]["spend_limit"] == {"amount": 150000, "currency": "USD"}
    assert planned["body"]["owner"] == {"type": "USER", "user_id": user["id"]}
    assert writes_sent(sandbox) == [] and "card" not in result.structured_content
    assert [e["outcome"] for e in audit_lines(settings)] == ["dry_run"]


async def test_a_declined_issuance_sends_nothing_and_is_audited(sandbox, mode):
    settings = settings_for(sandbox)
    result = await call(settings, "issue_card", card_args(active_user(sandbox)), mode, answering("decline"))
    assert result.is_error and "no card was issued" in result.content[0].text
    assert writes_sent(sandbox) == []
    assert [e["outcome"] for e in audit_lines(settings)] == ["declined"]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ({"currency": "USD", "decimal": "10.005"}, "has 3 decimal place(s) but USD allows 2"),
        ({"currency": "JPY", "decimal": "1500.5"}, "JPY allows 0"),
        ({"currency": "ZZZ", "amount": 100}, "not an ISO 4217 currency code"),
        ({"currency": "USD", "decimal": "1,500.00"}, "not a plain decimal number"),
        ({"currency": "USD", "amount": 15.5}, "amount"),
        ({"currency": "USD", "amount": 100, "decimal": "1.00"}, "exactly one of amount"),
        ({"currency": "USD", "amount": 0}, "must be more than zero"),
    ],
)
async def test_bad_money_is_refused_before_anything_is_sent(sandbox, limit, expected):
    result = await call(settings_for(sandbox), "issue_card", card_args(active_user(sandbox), spend_limit=limit))
    assert result.is_error and expected in result.content[0].text
    assert sandbox.requests == []


async def test_an_unknown_owner_is_an_error_and_nothing_is_written(sandbox):
    result = await call(
        settings_for(sandbox), "issue_card", {**card_args(active_user(sandbox)), "user": "nobody@nowhere.example"}
    )
    assert result.is_error and "No Brex user has email nobody@nowhere.example" in result.content[0].text
    assert writes_sent(sandbox) == []


async def test_a_disabled_owner_is_refused_before_sending(sandbox):
    leaver = next(u for u in sandbox.data.users if u["status"] == "DISABLED")
    result = await call(settings_for(sandbox), "issue_card", card_args(leaver))
    assert result.is_error and "is DISABLED" in result.content[0].text
    assert writes_sent(sandbox) == []


async def test_read_only_mode_hides_the_provisioning_tools(sandbox):
    async with Client(build_server(settings_for(sandbox, read_only=True))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert not names & {"issue_card", "onboard_user"}


# -- onboard_user -------------------------------------------------------------------------------------


def onboarding(sandbox, **extra):
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": NEW_HIRE,
        "department": "engineering",
        "title": "Software Engineer",
        "manager": sandbox.data.users[0]["email"],
        "monthly_limit": {"currency": "USD", "decimal": "2500.00"},
        "card": {"card_name": "Onboarding", "spend_limit": {"currency": "USD", "amount": 50000}},
        **extra,
    }


def by_name(sandbox, collection, name):
    return next(i["id"] for i in sandbox.data[collection] if i["name"] == name)


async def test_onboarding_invites_sets_the_limit_and_issues_a_card(sandbox, mode):
    questions = []
    result = await call(
        settings_for(sandbox),
        "onboard_user",
        onboarding(sandbox),
        mode,
        answering("accept", {"confirm": True}, questions),
    )
    body = result.structured_content
    [user] = [u for u in sandbox.data.users if u["email"] == NEW_HIRE]
    assert (body["user_id"], body["already_existed"], user["status"]) == (user["id"], False, "INVITED")
    assert (user["department_id"], user["title_id"], user["manager_id"]) == (
        by_name(sandbox, "departments", "Engineering"),
        by_name(sandbox, "titles", "Software Engineer"),
        sandbox.data.users[0]["id"],
    )
    assert sandbox.data.user_limits[user["id"]]["monthly_limit"] == {"amount": 250000, "currency": "USD"}
    [card] = cards_named(sandbox, user, "Onboarding")
    assert body["card"]["id"] == card["id"]
    assert [(s["step"], s["outcome"]) for s in body["steps"]] == [
        ("invite_user", "done"),
        ("set_monthly_limit", "done"),
        ("issue_card", "done"),
    ]
    assert len(questions) == 1 and "2,500.00 USD" in questions[0] and "500.00 USD" in questions[0]


async def test_onboarding_dry_run_sends_nothing_and_lists_every_request(sandbox):
    settings = settings_for(sandbox)
    result = await call(settings, "onboard_user", onboarding(sandbox, dry_run=True))
    steps = result.structured_content["steps"]
    assert [(s["step"], s["outcome"], s["request"]["path"]) for s in steps] == [
        ("invite_user", "would_send", "/v2/users"),
        ("set_monthly_limit", "would_send", "/v2/users/(id of the user this onboarding invites)/limit"),
        ("issue_card", "would_send", "/v2/cards"),
    ]
    assert steps[0]["request"]["body"]["department_id"] == by_name(sandbox, "departments", "Engineering")
    assert writes_sent(sandbox) == []
    assert [e["outcome"] for e in audit_lines(settings)] == ["dry_run"]


async def test_an_unknown_department_lists_close_matches_and_sends_nothing(sandbox):
    settings = settings_for(sandbox)
    result = await call(settings, "onboard_user", onboarding(sandbox, department="Engneering"))
    text = result.content[0].text
    assert result.is_error and "no department is named 'Engneering'; close matches: Engineering" in text
    assert writes_sent(sandbox) == []
    assert [e["outcome"] for e in audit_lines(settings)] == ["refused"]


async def test_an_unknown_manager_is_an_error_and_sends_nothing(sandbox):
    result = await call(
        settings_for(sandbox), "onboard_user", onboarding(sandbox, manager="ghost@northwind-aero.example")
    )
    assert result.is_error and "ghost@northwind-aero.example (manager)" in result.content[0].text
    assert writes_sent(sandbox) == []


async def test_an_existing_email_is_reported_and_not_invited_twice(sandbox):
    existing = active_user(sandbox, 20)
    arguments = onboarding(sandbox, email=existing["email"].upper(), monthly_limit=None, card=None)
    result = await call(settings_for(sandbox), "onboard_user", arguments)
    body = result.structured_content
    assert (body["user_id"], body["already_existed"]) == (existing["id"], True)
    assert body["steps"][0]["outcome"] == "skipped" and "already exists" in body["steps"][0]["detail"]
    assert writes_sent(sandbox) == []


async def test_a_failure_midway_says_what_was_done_and_a_second_call_finishes_without_repeats(sandbox):
    settings = settings_for(sandbox)
    sandbox.faults.add("/custom/v2/users/", 400, method="POST", remote=True)
    failed = await call(settings, "onboard_user", onboarding(sandbox))
    text = failed.content[0].text
    assert failed.is_error and "stopped at set_monthly_limit" in text
    assert "Done: invite_user" in text and "Not done: set_monthly_limit, issue_card" in text
    finished = await call(settings, "onboard_user", onboarding(sandbox))
    assert [(s["step"], s["outcome"]) for s in finished.structured_content["steps"]] == [
        ("invite_user", "skipped"),
        ("set_monthly_limit", "done"),
        ("issue_card", "done"),
    ]
    [user] = [u for u in sandbox.data.users if u["email"] == NEW_HIRE]
    assert len(cards_named(sandbox, user, "Onboarding")) == 1
    again = await call(settings, "onboard_user", onboarding(sandbox))
    assert {s["outcome"] for s in again.structured_content["steps"]} == {"skipped"}
    assert len([r for r in writes_sent(sandbox) if r.path == "/custom/v2/users"]) == 1


async def test_a_declined_onboarding_sends_nothing(sandbox, mode):
    result = await call(settings_for(sandbox), "onboard_user", onboarding(sandbox), mode, answering("decline"))
    assert result.is_error and "was not onboarded" in result.content[0].text
    assert writes_sent(sandbox) == []
