"""Writes: the confirmation policy, dry runs, and the audit log, for freeze_card and proxy_request."""

from __future__ import annotations

import json
import stat

import pytest
from mcp import Client

from brex_mcp.config import ConfigError
from brex_mcp.server import build_server
from tests.conftest import answering, settings_for

pytestmark = pytest.mark.anyio


YES = answering("accept", {"confirm": True})


def active_card(sandbox, index=0):
    return [c for c in sandbox.data.cards if c["status"] == "ACTIVE"][index]


def writes_sent(sandbox):
    return [r for r in sandbox.requests if r.method != "GET"]


def audit_lines(settings):
    return [json.loads(line) for line in settings.audit_log.read_text().splitlines()]


async def freeze(settings, card_id, mode="auto", callback=None, **extra):
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        return await client.call_tool("freeze_card", {"card_id": card_id, "reason": "FRAUD", **extra})


# -- policy -------------------------------------------------------------------------------------------


async def test_policy_always_refuses_a_write_when_the_client_cannot_ask_and_says_how_to_fix_it(sandbox, mode):
    settings = settings_for(sandbox, confirm_writes="always")
    result = await freeze(settings, active_card(sandbox)["id"], mode)
    text = result.content[0].text
    assert result.is_error and "--confirm-writes always" in text and "elicitation" in text
    assert writes_sent(sandbox) == []
    assert [e["outcome"] for e in audit_lines(settings)] == ["refused"]


async def test_policy_always_asks_when_the_client_can_and_locks_on_yes(sandbox, mode):
    settings = settings_for(sandbox, confirm_writes="always")
    result = await freeze(settings, active_card(sandbox)["id"], mode, YES)
    assert result.structured_content["confirmation"] == "confirmed_by_user"
    assert len(writes_sent(sandbox)) == 1


async def test_policy_never_asks_nobody_even_when_the_client_could(sandbox, mode):
    questions = []
    settings = settings_for(sandbox, confirm_writes="never")
    result = await freeze(settings, active_card(sandbox)["id"], mode, answering("decline", questions=questions))
    assert (result.structured_content["confirmation"], questions) == ("not_asked_by_policy", [])
    assert len(writes_sent(sandbox)) == 1


async def test_the_question_is_the_same_every_time_for_the_same_card(sandbox):
    card = active_card(sandbox)
    questions = []
    for _ in range(2):
        await freeze(settings_for(sandbox), card["id"], "auto", answering("decline", questions=questions))
    assert len(questions) == 2 and questions[0] == questions[1]


async def test_a_declined_proxy_write_sends_nothing(sandbox, mode):
    card = next(c for c in sandbox.data.cards if c["status"] == "LOCKED")
    async with Client(build_server(settings_for(sandbox)), mode=mode, elicitation_callback=answering("decline")) as c:
        result = await c.call_tool("proxy_request", {"method": "POST", "path": f"/v2/cards/{card['id']}/unlock"})
    assert result.is_error and "not sent" in result.content[0].text
    assert writes_sent(sandbox) == []


async def test_a_proxy_write_question_names_method_path_and_body(sandbox):
    questions = []
    card = active_card(sandbox)
    args = {"method": "POST", "path": f"/v2/cards/{card['id']}/lock", "body": {"reason": "OTHER"}}
    async with Client(
        build_server(settings_for(sandbox)), elicitation_callback=answering("decline", None, questions)
    ) as c:
        await c.call_tool("proxy_request", args)
    assert questions == [
        f'Send POST /v2/cards/{card["id"]}/lock to Brex with {{"reason": "OTHER"}}? This changes data in Brex.'
    ]


# -- dry runs -----------------------------------------------------------------------------------------


async def test_freeze_dry_run_shows_the_exact_request_and_card_state_and_sends_nothing(sandbox, mode):
    card = active_card(sandbox)
    result = await freeze(settings_for(sandbox), card["id"], mode, YES, dry_run=True, description="Stolen")
    out = result.structured_content
    assert out["would_send"] == {
        "method": "POST",
        "path": f"/v2/cards/{card['id']}/lock",
        "body": {"reason": "FRAUD", "description": "Stolen"},
    }
    assert (out["dry_run"], out["changed"], out["previous_status"], out["card"]["last_four"]) == (
        True,
        False,
        "ACTIVE",
        card["last_four"],
    )
    assert writes_sent(sandbox) == [] and card["status"] == "ACTIVE"


async def test_proxy_dry_run_returns_the_planned_request_and_sends_nothing(sandbox):
    card = active_card(sandbox)
    args = {"method": "PUT", "path": f"/v2/cards/{card['id']}", "body": {"metadata": {"team": "ops"}}, "dry_run": True}
    async with Client(build_server(settings_for(sandbox))) as client:
        out = (await client.call_tool("proxy_request", args)).structured_content
    assert out["would_send"] == {
        "method": "PUT",
        "path": f"/v2/cards/{card['id']}",
        "body": {"metadata": {"team": "ops"}},
    }
    assert (out["dry_run"], out["status"], out["endpoint"]) == (True, 0, "/v2/cards/{id}")
    assert writes_sent(sandbox) == []


# -- audit ----------------------------------------------------------------------------------------------


async def test_a_successful_freeze_is_audited_with_key_status_and_trace_id(sandbox):
    settings = settings_for(sandbox)
    card = active_card(sandbox)
    out = (await freeze(settings, card["id"], "auto", YES)).structured_content
    (entry,) = audit_lines(settings)
    (post,) = writes_sent(sandbox)
    assert {k: entry[k] for k in ("tool", "account", "outcome", "http_status", "idempotency_key")} == {
        "tool": "freeze_card",
        "account": sandbox.account_id,
        "outcome": "success",
        "http_status": 200,
        "idempotency_key": out["idempotency_key"],
    }
    assert entry["arguments"] == {
        "card_id": card["id"],
        "reason": "FRAUD",
        "description": None,
        "dry_run": False,
        "confirmation": "confirmed_by_user",
    }
    assert entry["brex_trace_id"] and entry["time"].endswith("Z")
    assert post.headers["idempotency-key"] == out["idempotency_key"]


async def test_a_declined_freeze_is_audited_as_declined_with_no_key(sandbox):
    settings = settings_for(sandbox)
    await freeze(settings, active_card(sandbox)["id"], "auto", answering("decline"))
    (entry,) = audit_lines(settings)
    assert (entry["outcome"], entry["idempotency_key"], entry["http_status"]) == ("declined", None, None)


async def test_a_failed_freeze_is_audited_with_the_status_brex_gave(sandbox):
    settings = settings_for(sandbox)
    card = active_card(sandbox)
    sandbox.faults.add(f"/custom/v2/cards/{card['id']}/lock", 400, remote=True)
    result = await freeze(settings, card["id"])
    (entry,) = audit_lines(settings)
    assert result.is_error
    assert (entry["outcome"], entry["http_status"]) == ("failed", 400) and entry["idempotency_key"]


async def test_an_unknown_outcome_is_audited_and_the_retry_reuses_the_same_key(sandbox):
    settings = settings_for(sandbox)
    card = active_card(sandbox)
    sandbox.faults.add(f"/custom/v2/cards/{card['id']}/lock", kind="reset", times=4)  # every attempt of the call
    async with Client(build_server(settings)) as client:
        first = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
        second = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    assert first.is_error and "may or may not have been applied" in first.content[0].text
    keys = [r.headers["idempotency-key"] for r in writes_sent(sandbox)]
    assert len(keys) == 5 and len(set(keys)) == 1
    assert [e["outcome"] for e in audit_lines(settings)] == ["unknown", "success"]
    assert second.structured_content["status"] == "LOCKED"


async def test_dry_runs_and_no_ops_are_audited_too(sandbox):
    settings = settings_for(sandbox)
    locked = next(c for c in sandbox.data.cards if c["status"] == "LOCKED")
    await freeze(settings, active_card(sandbox)["id"], dry_run=True)
    await freeze(settings, locked["id"])
    assert [e["outcome"] for e in audit_lines(settings)] == ["dry_run", "no_op"]


async def test_reads_are_not_audited(sandbox):
    settings = settings_for(sandbox)
    async with Client(build_server(settings)) as client:
        await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/company"})
    assert audit_lines(settings) == []


def test_the_audit_log_is_private_to_its_owner(sandbox):
    settings = settings_for(sandbox)
    build_server(settings)
    assert stat.S_IMODE(settings.audit_log.stat().st_mode) == 0o600


def test_a_server_that_cannot_write_its_audit_log_does_not_start(sandbox, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write the audit log"):
        build_server(settings_for(sandbox, audit_log=blocker / "audit.jsonl"))


async def test_a_refused_proxy_write_is_audited(sandbox):
    settings = settings_for(sandbox, read_only=True)
    async with Client(build_server(settings)) as client:
        await client.call_tool("proxy_request", {"method": "DELETE", "path": "/v1/vendors/v1"})
    (entry,) = audit_lines(settings)
    assert (entry["outcome"], entry["arguments"]["method"]) == ("refused", "DELETE") and "read-only" in entry["detail"]
