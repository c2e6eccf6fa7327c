"""Input a newcomer threw at the server: each is refused with a message naming it, and nothing is sent."""

from __future__ import annotations

import pytest

from brex_mcp.config import ConfigError, settings_from_env

pytestmark = pytest.mark.anyio


def error_text(result) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


@pytest.mark.parametrize("value", [20251231, 0, -5, 1.5, "1780000000", "2026-02-30", "31/12/2025", "2026-1-5"])
async def test_dates_must_be_iso_strings_not_numbers_or_impossible_days(client, sandbox, value):
    result = await client.call_tool("list_transactions", {"posted_at_end": value})
    assert "posted_at_end" in error_text(result)
    assert sandbox.requests == []


async def test_an_unknown_argument_name_is_refused_not_ignored(client, sandbox):
    assert "start_date" in error_text(await client.call_tool("list_transactions", {"start_date": "2026-06-01"}))
    assert sandbox.requests == []


@pytest.mark.parametrize("limit", ["5", 2.0, True])
async def test_a_number_must_be_a_json_integer(client, sandbox, limit):
    assert "limit" in error_text(await client.call_tool("list_users", {"limit": limit}))
    assert sandbox.requests == []


async def test_published_schemas_forbid_unknown_arguments(client):
    for tool in (await client.list_tools()).tools:
        assert tool.input_schema["additionalProperties"] is False, tool.name


async def test_a_cursor_from_another_tool_is_refused_rather_than_restarting(client, sandbox):
    users = (await client.call_tool("list_users", {"limit": 2})).structured_content
    sandbox.clear_requests()
    result = await client.call_tool("list_transactions", {"cursor": users["next_cursor"]})
    assert "made by list_users, not list_transactions" in error_text(result)
    assert sandbox.requests == []


@pytest.mark.parametrize("query", [{"x": "a" * 66000}, {"user_ids": [f"cuuser_{i}" for i in range(2000)]}])
async def test_an_oversized_query_is_refused_before_any_request(client, sandbox, query):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/users", "query": query})
    assert "longer than 4096 characters" in error_text(result)
    assert sandbox.requests == []


@pytest.mark.parametrize("key", ["Integrated_Account_Id", "INTEGRATED_ACCOUNT_ID", "integrated_account_id[]"])
async def test_the_account_cannot_be_smuggled_in_another_case(client, sandbox, key):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/users", "query": {key: "x"}})
    assert "integrated_account_id" in error_text(result)
    assert sandbox.requests == []


@pytest.mark.parametrize("tail", ["PAN", "Pan", "SECURE_EMAIL"])
async def test_card_data_paths_are_refused_in_any_case(client, sandbox, tail):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": f"/v2/cards/ncard_1/{tail}"})
    assert "card numbers" in error_text(result)
    assert sandbox.requests == []


async def test_status_filter_takes_any_case_and_results_are_lower_case(client, sandbox):
    page = (await client.call_tool("list_users", {"status": "CLOSED", "limit": 100})).structured_content
    expected = sorted(u["id"] for u in sandbox.data.users if u["status"] == "CLOSED")
    assert sorted(u["id"] for u in page["users"]) == expected and expected
    assert {u["status"] for u in page["users"]} == {"closed"}


@pytest.mark.parametrize("value", ["yes ", "TRUE", "1", "on"])
def test_read_only_switch_reads_true_words(value):
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "BREX_MCP_READ_ONLY": value}
    assert settings_from_env(env).read_only is True


@pytest.mark.parametrize("value", ["banana", "enable", "Y", "2"])
def test_read_only_switch_refuses_a_word_it_does_not_know(value):
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "BREX_MCP_READ_ONLY": value}
    with pytest.raises(ConfigError, match="BREX_MCP_READ_ONLY must be one of"):
        settings_from_env(env)
