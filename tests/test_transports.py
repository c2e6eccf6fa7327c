"""brex-mcp as a real process: stdio (raw JSON-RPC and the SDK client), streamable HTTP and SSE."""

from __future__ import annotations

import json
import sys

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from tests.processes import RawStdio, clean_env, http_server

FIVE = {  # the name is historical: every tool
    "list_users",
    "get_user",
    "freeze_card",
    "list_transactions",
    "proxy_request",
    "issue_card",
    "onboard_user",
    "list_expenses",
    "attach_receipt",
    "update_expense_memo",
}


def test_stdio_answers_all_five_tools_and_stdout_carries_only_json_rpc():
    server = RawStdio(["--sandbox"])
    try:
        init = server.request(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        )
        assert init["result"]["serverInfo"]["name"] == "brex-mcp"
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = server.request("tools/list", {})["result"]["tools"]
        assert {t["name"] for t in tools} == FIVE

        users = server.call("list_users", {"limit": 3})["users"]
        assert server.call("get_user", {"user_id": users[0]["id"]})["id"] == users[0]["id"]
        assert len(server.call("list_transactions", {"limit": 5})["transactions"]) == 5
        cards = server.call("proxy_request", {"method": "GET", "path": "/v2/cards", "query": {"limit": 100}})
        active = next(c for c in cards["data"]["items"] if c["status"] == "ACTIVE")
        frozen = server.call("freeze_card", {"card_id": active["id"], "reason": "CARD_LOST"})
        assert (frozen["previous_status"], frozen["status"]) == ("ACTIVE", "LOCKED")
    finally:
        server.close()
    assert server.lines
    for line in server.lines:
        assert json.loads(line)["jsonrpc"] == "2.0", line


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_over_stdio_calls_the_tools(mode):
    params = StdioServerParameters(command=sys.executable, args=["-m", "brex_mcp", "--sandbox"], env=clean_env())
    async with Client(params, mode=mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} == FIVE
        result = await client.call_tool("list_users", {"limit": 2})
        assert len(result.structured_content["users"]) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_lists_tools_and_answers_a_call(mode):
    with http_server("streamable-http") as port:
        async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            assert {t.name for t in (await client.list_tools()).tools} == FIVE
            result = await client.call_tool("list_transactions", {"limit": 3})
            assert len(result.structured_content["transactions"]) == 3


@pytest.mark.anyio
async def test_sse_lists_tools_and_answers_a_call():
    with http_server("sse") as port:
        async with Client(sse_client(f"http://127.0.0.1:{port}/sse"), mode="legacy") as client:
            assert {t.name for t in (await client.list_tools()).tools} == FIVE
            result = await client.call_tool("get_user", {"user_id": "cuuser_unknown"})
            assert result.is_error
