"""offboard_user: every card that can still spend is locked once, one question for the batch, failures named."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from brex_mcp.server import build_server
from tests.conftest import settings_for
from tests.test_tools import call, error_text
from tests.test_write_safety import answering, audit_lines, writes_sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings):
    """One protocol era is enough for what this file checks; the era-specific paths (confirmation) are
    exercised with both eras explicitly, and tests/test_tools.py covers every tool in both."""
    async with Client(build_server(settings)) as c:
        yield c


def leaver_with_mixed_cards(sandbox):
    """An active user holding cards that can spend and cards that cannot."""
    for user in sandbox.data.users:
        statuses = {c["status"] for c in sandbox.data.cards if c["owner"]["user_id"] == user["id"]}
        if user["status"] == "ACTIVE" and "ACTIVE" in statuses and statuses & {"LOCKED", "TERMINATED"}:
            return user
    raise AssertionError("the seed has no such user")


def cards_of(sandbox, user):
    return [c for c in sandbox.data.cards if c["owner"]["user_id"] == user["id"]]


def lock_paths(sandbox):
    return sorted(r.path for r in writes_sent(sandbox) if r.path.endswith("/lock"))


async def test_offboarding_by_email_locks_exactly_the_cards_that_can_spend(client, sandbox):
    user = leaver_with_mixed_cards(sandbox)
    before = {c["id"]: c["status"] for c in cards_of(sandbox, user)}
    spendable = sorted(cid for cid, status in before.items() if status in ("ACTIVE", "SHIPPED"))
    out = (await call(client, "offboard_user", {"user": user["email"].upper()})).structured_content
    assert lock_paths(sandbox) == sorted(f"/custom/v2/cards/{cid}/lock" for cid in spendable)
    outcomes = {c["id"]: c["outcome"] for c in out["cards"]}
    assert outcomes == {
        cid: {"ACTIVE": "locked", "SHIPPED": "locked", "LOCKED": "already_locked", "TERMINATED": "terminated"}[s]
        for cid, s in before.items()
    }
    assert all(c["status"] in ("LOCKED", "TERMINATED") for c in cards_of(sandbox, user))
    assert (out["complete"], out["counts"]["locked"], out["user"]["disable"]) == (True, len(spendable), "not_requested")
    assert not [r for r in writes_sent(sandbox) if r.method == "PUT"]


async def test_offboarding_dry_run_lists_the_requests_and_sends_nothing(sandbox, mode):
    settings = settings_for(sandbox)
    user = leaver_with_mixed_cards(sandbox)
    async with Client(build_server(settings), mode=mode) as client:
        out = (
            await call(client, "offboard_user", {"user": user["id"], "disable_user": True, "dry_run": True})
        ).structured_content
    spendable = [c for c in cards_of(sandbox, user) if c["status"] in ("ACTIVE", "SHIPPED")]
    assert writes_sent(sandbox) == []
    assert out["would_send"] == [
        *({"method": "POST", "path": f"/v2/cards/{c['id']}/lock", "body": {"reason": "OTHER"}} for c in spendable),
        {"method": "PUT", "path": f"/v2/users/{user['id']}", "body": {"status": "DISABLED"}},
    ]
    assert (out["complete"], out["user"]["disable"], out["counts"]["would_lock"]) == (
        False,
        "would_disable",
        len(spendable),
    )
    assert [e["outcome"] for e in audit_lines(settings)] == ["dry_run"]


async def test_offboarding_asks_once_for_the_whole_batch_and_audits_each_lock(sandbox, mode):
    settings = settings_for(sandbox)
    user = leaver_with_mixed_cards(sandbox)
    spendable = [c for c in cards_of(sandbox, user) if c["status"] in ("ACTIVE", "SHIPPED")]
    questions: list[str] = []
    callback = answering("accept", {"confirm": True}, questions)
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as c:
        out = (await c.call_tool("offboard_user", {"user": user["email"], "reason": "OTHER"})).structured_content
    assert len(set(questions)) == 1
    question = questions[0]
    assert question.startswith(f"Offboard {user['first_name']} {user['last_name']} ({user['email']}): lock ")
    assert all(f"ending {c['last_four']}" in question for c in spendable)
    lines = audit_lines(settings)
    assert [(e["outcome"], e["arguments"]["card_id"]) for e in lines] == [("success", c["id"]) for c in spendable]
    assert out["confirmation"] == "confirmed_by_user"


async def test_offboarding_declined_locks_nothing(sandbox, mode):
    settings = settings_for(sandbox)
    user = leaver_with_mixed_cards(sandbox)
    async with Client(build_server(settings), mode=mode, elicitation_callback=answering("decline")) as c:
        result = await c.call_tool("offboard_user", {"user": user["email"]})
    assert "did not confirm" in error_text(result)
    assert writes_sent(sandbox) == []
    assert [e["outcome"] for e in audit_lines(settings)] == ["declined"]


async def test_offboarding_reports_a_failed_lock_and_a_second_call_retries_only_that_card(client, sandbox):
    user = leaver_with_mixed_cards(sandbox)
    spendable = [c for c in cards_of(sandbox, user) if c["status"] in ("ACTIVE", "SHIPPED")]
    broken = spendable[0]
    sandbox.faults.add(path_prefix=f"/custom/v2/cards/{broken['id']}/lock", status=403, method="POST", remote=True)
    first = (await call(client, "offboard_user", {"user": user["id"]})).structured_content
    failed = [c for c in first["cards"] if c["outcome"] == "failed"]
    assert [c["id"] for c in failed] == [broken["id"]] and '"status":403' in failed[0]["error"]
    assert first["complete"] is False and first["message"].startswith("Incomplete")
    assert broken["status"] in ("ACTIVE", "SHIPPED")
    sandbox.clear_requests()
    second = (await call(client, "offboard_user", {"user": user["id"]})).structured_content
    assert lock_paths(sandbox) == [f"/custom/v2/cards/{broken['id']}/lock"]
    assert second["complete"] is True and broken["status"] == "LOCKED"


async def test_offboarding_disables_the_user_only_when_asked(client, sandbox):
    user = leaver_with_mixed_cards(sandbox)
    out = (await call(client, "offboard_user", {"user": user["id"], "disable_user": True})).structured_content
    (put,) = [r for r in writes_sent(sandbox) if r.method == "PUT"]
    assert (put.path, json.loads(put.body)) == (f"/custom/v2/users/{user['id']}", {"status": "DISABLED"})
    assert put.headers["idempotency-key"]
    assert (out["user"]["disable"], out["user"]["status_after"], user["status"]) == ("disabled", "DISABLED", "DISABLED")


async def test_offboarding_a_disabled_leaver_with_a_live_card_locks_it(client, sandbox):
    live = {c["owner"]["user_id"] for c in sandbox.data.cards if c["status"] == "ACTIVE"}
    user = next(u for u in sandbox.data.users if u["status"] == "DISABLED" and u["id"] in live)
    out = (await call(client, "offboard_user", {"user": user["email"], "disable_user": True})).structured_content
    assert out["user"]["disable"] == "already_disabled" and out["counts"]["locked"] >= 1
    assert not [r for r in writes_sent(sandbox) if r.method == "PUT"]


async def test_offboarding_someone_with_nothing_to_lock_sends_nothing(client, sandbox):
    user = next(u for u in sandbox.data.users if all(c["status"] == "TERMINATED" for c in cards_of(sandbox, u)))
    out = (await call(client, "offboard_user", {"user": user["id"]})).structured_content
    assert writes_sent(sandbox) == [] and out["complete"] is True and out["counts"]["locked"] == 0


async def test_offboarding_an_unknown_email_is_not_found_and_sends_nothing(client, sandbox):
    assert "no Brex user has email" in error_text(
        await client.call_tool("offboard_user", {"user": "nobody@northwind-aero.example"})
    )
    assert writes_sent(sandbox) == []


async def test_offboarding_rejects_a_user_that_is_neither_id_nor_email_before_any_request(client, sandbox):
    for user in ("../users", "a b", "", "x@y", "id?x=1", "a@b.c/../x"):
        assert (await client.call_tool("offboard_user", {"user": user})).is_error, user
    assert sandbox.requests == []


async def test_a_lock_with_an_unknown_outcome_is_retried_later_with_the_same_idempotency_key(client, sandbox):
    user = leaver_with_mixed_cards(sandbox)
    card = next(c for c in cards_of(sandbox, user) if c["status"] in ("ACTIVE", "SHIPPED"))
    path = f"/custom/v2/cards/{card['id']}/lock"
    sandbox.faults.add(path_prefix=path, status=503, method="POST", times=None, remote=True)
    first = (await call(client, "offboard_user", {"user": user["id"]})).structured_content
    (failed,) = [c for c in first["cards"] if c["outcome"] == "failed"]
    assert "may or may not have been applied" in failed["error"]
    keys = {r.headers["idempotency-key"] for r in sandbox.requests if r.path == path}
    sandbox.faults.clear()
    await call(client, "offboard_user", {"user": user["id"]})
    last = [r for r in sandbox.requests if r.path == path][-1]
    assert len(keys) == 1 and last.headers["idempotency-key"] in keys and card["status"] == "LOCKED"
