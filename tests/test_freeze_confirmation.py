"""freeze_card asks the human where the client can, in both protocol eras, and a 'no' sends nothing."""

from __future__ import annotations

import pytest
from mcp import Client

from brex_mcp.server import build_server
from tests.conftest import answering

pytestmark = pytest.mark.anyio


def active_card(sandbox):
    return next(c for c in sandbox.data.cards if c["status"] == "ACTIVE")


def lock_posts(sandbox):
    return [r for r in sandbox.requests if r.method == "POST"]


async def test_a_yes_locks_the_card_and_the_question_names_card_owner_and_reason(settings, sandbox, mode):
    card = active_card(sandbox)
    owner = next(u for u in sandbox.data.users if u["id"] == card["owner"]["user_id"])
    questions = []
    async with Client(
        build_server(settings), mode=mode, elicitation_callback=answering("accept", {"confirm": True}, questions)
    ) as client:
        result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    assert result.structured_content["confirmation"] == "confirmed_by_user"
    assert result.structured_content["status"] == "LOCKED"
    assert len(lock_posts(sandbox)) == 1
    question = questions[0]
    assert card["last_four"] in question and owner["first_name"] in question and "FRAUD" in question
    assert question.count(owner["first_name"]) == 1  # a card named after its owner does not repeat the name


@pytest.mark.parametrize("action,content", [("decline", None), ("cancel", None), ("accept", {"confirm": False})])
async def test_anything_but_yes_sends_no_lock(settings, sandbox, mode, action, content):
    card = active_card(sandbox)
    async with Client(build_server(settings), mode=mode, elicitation_callback=answering(action, content)) as client:
        result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    assert result.is_error and "not locked" in result.content[0].text
    assert lock_posts(sandbox) == []
    assert card["status"] == "ACTIVE"


async def test_an_already_locked_card_is_not_asked_about(settings, sandbox, mode):
    card = next(c for c in sandbox.data.cards if c["status"] == "LOCKED")
    questions = []
    async with Client(
        build_server(settings), mode=mode, elicitation_callback=answering("accept", {"confirm": True}, questions)
    ) as client:
        result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    assert (result.structured_content["changed"], questions) == (False, [])
