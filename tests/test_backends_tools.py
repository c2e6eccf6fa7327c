"""Every tool gives the same answer whichever backend serves it: Truto in front of Brex, or Brex directly."""

from __future__ import annotations

import pytest
from mcp import Client

from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio
VOLATILE = {"idempotency_key", "brex_trace_id", "trace_id"}
# Opaque cursors wrap each upstream's own cursor, and Truto's unified users carry record timestamps that
# Brex's API does not have: the only differences allowed.
BACKEND_SPECIFIC = {"next_cursor", "created_at", "updated_at"}


def stable(value):
    """The result without the values that differ per request (trace ids, fresh idempotency keys)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE | BACKEND_SPECIFIC}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def calls(sb: Sandbox) -> list[tuple[str, dict]]:
    data = sb.data
    user = next(u for u in data.users if u["status"] == "ACTIVE" and u.get("manager_id"))
    card = next(c for c in data.cards if c["status"] == "ACTIVE")
    locked = next(c for c in data.cards if c["status"] == "LOCKED")
    expense = data.expenses[0]
    return [
        ("list_users", {"limit": 10}),
        ("get_user", {"user_id": user["id"]}),
        ("list_transactions", {"limit": 20, "posted_at_start": "2026-05-01", "posted_at_end": "2026-05-03"}),
        ("list_cards", {"user_id": user["id"]}),
        ("get_card", {"card_id": card["id"]}),
        ("list_accounts", {}),
        ("spend_summary", {"posted_at_start": "2026-04-01", "posted_at_end": "2026-04-30", "group_by": "user"}),
        ("list_expenses", {"limit": 5}),
        ("freeze_card", {"card_id": card["id"], "reason": "FRAUD", "dry_run": True}),
        ("unfreeze_card", {"card_id": locked["id"], "dry_run": True}),
        ("offboard_user", {"user": user["email"], "dry_run": True}),
        (
            "issue_card",
            {
                "user": user["id"],
                "card_name": "Travel",
                "spend_limit": {"currency": "USD", "amount": 50000},
                "dry_run": True,
            },
        ),
        ("update_expense_memo", {"expense_id": expense["id"], "memo": "Team lunch", "dry_run": True}),
        ("proxy_request", {"method": "GET", "path": "/v2/departments", "query": {"limit": 3}}),
    ]


async def answers(backend: str) -> list:
    with Sandbox(seed=7) as sb:
        async with Client(build_server(settings_for(sb, backend=backend))) as client:
            results = []
            for name, args in calls(sb):
                result = await client.call_tool(name, args)
                assert not result.is_error, (backend, name, result.content[0].text)
                results.append((name, stable(result.structured_content)))
            return results


async def test_every_tool_answers_the_same_on_both_backends():
    truto, brex = await answers("truto"), await answers("brex")
    for (name, via_truto), (_, direct) in zip(truto, brex, strict=True):
        assert direct == via_truto, name
