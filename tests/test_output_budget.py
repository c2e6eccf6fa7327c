"""Results that fit a model's context: compact defaults, `fields`, a byte budget that loses nothing, names for ids."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from brex_mcp.config import ConfigError, settings_from_env
from brex_mcp.server import build_server
from brex_mcp.shaping import respond
from tests.conftest import settings_for
from tests.test_tools import call

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings):
    """One protocol era is enough for what this file checks; the era-specific paths (confirmation) are
    exercised with both eras explicitly, and tests/test_tools.py covers every tool in both."""
    async with Client(build_server(settings)) as c:
        yield c


async def test_a_page_over_the_byte_budget_is_cut_with_a_marker_and_the_cursor_loses_nothing(sandbox):
    settings = settings_for(sandbox, max_result_bytes=4096)
    seen, cuts, cursor = [], 0, None
    async with Client(build_server(settings)) as client:
        while True:
            args = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            result = await call(client, "list_users", args)
            page = result.structured_content
            assert len(result.content[0].text.encode()) <= 4096
            seen += [u["id"] for u in page["users"]]
            if "truncated" in page:
                cuts += 1
                marker = page["truncated"]
                assert marker["reason"] == "byte_budget" and marker["max_bytes"] == 4096
                assert marker["rows_returned"] == len(page["users"]) and marker["rows_left_out"] > 0
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    assert cuts >= 3
    assert seen == [u["id"] for u in sandbox.data.users]


async def test_a_filtered_card_page_cut_by_the_budget_resumes_at_the_first_card_left_out(sandbox):
    settings = settings_for(sandbox, max_result_bytes=2048)
    expected = [c["id"] for c in sandbox.data.cards if c["status"] == "ACTIVE"]
    seen, cursor = [], None
    async with Client(build_server(settings)) as client:
        while True:
            args = {"limit": 50, "status": ["ACTIVE"], **({"cursor": cursor} if cursor else {})}
            page = (await call(client, "list_cards", args)).structured_content
            seen += [c["id"] for c in page["cards"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    assert seen == expected


async def test_list_users_shows_department_and_manager_names_with_one_fetch_per_list(client, sandbox):
    page = (await call(client, "list_users", {"limit": 100})).structured_content
    departments = {d["id"]: d["name"] for d in sandbox.data.departments}
    users = {u["id"]: u for u in sandbox.data.users}
    for row in page["users"]:
        source = users[row["id"]]
        assert row.get("department_name") == departments.get(source["department_id"])
        manager = users.get(source["manager_id"] or "")
        assert row.get("manager_name") == (f"{manager['first_name']} {manager['last_name']}" if manager else None)
    paths = [r.path for r in sandbox.requests]
    assert (paths.count("/custom/v2/departments"), paths.count("/custom/v2/users")) == (1, 1)
    assert "/custom/v2/locations" not in paths  # location names were not asked for


async def test_list_users_fields_pick_the_columns_and_skip_lookups_they_do_not_need(client, sandbox):
    page = (await call(client, "list_users", {"limit": 5, "fields": ["email", "location_name"]})).structured_content
    assert all(set(u) <= {"id", "email", "location_name"} and "email" in u for u in page["users"])
    paths = {r.path for r in sandbox.requests}
    assert "/custom/v2/locations" in paths and "/custom/v2/departments" not in paths


async def test_get_user_has_names_and_the_monthly_limit_with_what_is_left(client, sandbox):
    user = next(u for u in sandbox.data.users if sandbox.data.user_limits[u["id"]]["monthly_limit"])
    limits = sandbox.data.user_limits[user["id"]]
    out = (await call(client, "get_user", {"user_id": user["id"]})).structured_content
    assert out["monthly_limit"]["amount"] == limits["monthly_limit"]["amount"]
    assert out["monthly_available"]["amount"] == limits["monthly_available"]["amount"]
    location = next(loc for loc in sandbox.data.locations if loc["id"] == user["location_id"])
    assert out["location_name"] == location["name"]


async def test_get_user_without_a_limit_leaves_the_limit_out(client, sandbox):
    user = next(u for u in sandbox.data.users if sandbox.data.user_limits[u["id"]]["monthly_limit"] is None)
    out = (await call(client, "get_user", {"user_id": user["id"]})).structured_content
    assert "monthly_limit" not in out and "monthly_available" not in out


def test_no_result_over_one_mebibyte_is_ever_sent():
    with pytest.raises(ToolError, match="exceed 1 MiB"):
        respond({"rows": ["x" * 1024] * 1100})


def test_budgets_come_from_the_environment_and_are_bounded():
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a"}
    settings = settings_from_env({**env, "BREX_MCP_MAX_RESULT_BYTES": "32768", "BREX_MCP_TIME_BUDGET_SECONDS": "10"})
    assert (settings.max_result_bytes, settings.time_budget_seconds) == (32768, 10.0)
    defaults = settings_from_env(env)
    assert (defaults.max_result_bytes, defaults.time_budget_seconds) == (16 * 1024, 25.0)
    with pytest.raises(ConfigError, match="BREX_MCP_TIME_BUDGET_SECONDS must be between 1 and 55"):
        settings_from_env({**env, "BREX_MCP_TIME_BUDGET_SECONDS": "90"})
    with pytest.raises(ConfigError, match="BREX_MCP_MAX_RESULT_BYTES must be a number"):
        settings_from_env({**env, "BREX_MCP_MAX_RESULT_BYTES": "lots"})


async def test_a_list_out_of_time_returns_what_it_has_and_the_cursor_finds_the_rest(sandbox):
    settings = settings_for(sandbox, time_budget_seconds=0.001, max_result_bytes=512 * 1024)
    window = {"posted_at_end": "2025-12-01", "limit": 200}  # Brex has no end filter: every page must be read
    expected = [t["id"] for t in sandbox.data.transactions if t["posted_at_date"] == "2025-12-01"]
    seen, calls, cursor = [], 0, None
    async with Client(build_server(settings)) as client:
        while True:
            page = await call(client, "list_transactions", {**window, **({"cursor": cursor} if cursor else {})})
            calls += 1
            seen += [t["id"] for t in page.structured_content["transactions"]]
            if not page.structured_content["has_more"]:
                break
            cursor = page.structured_content["next_cursor"]
    assert seen == expected and calls > 1
    pages = [r for r in sandbox.requests if r.path == "/custom/v2/transactions/card/primary"]
    assert len(pages) == calls  # one upstream page per call: the budget ran out after each
