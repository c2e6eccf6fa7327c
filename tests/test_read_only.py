"""Read-only mode: the filter follows each tool's annotations, and proxy_request refuses every non-GET."""

from __future__ import annotations

import pytest
from mcp import Client

from brex_mcp.server import build_server
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def read_only_client(sandbox, mode):
    async with Client(build_server(settings_for(sandbox, read_only=True)), mode=mode) as c:
        yield c


async def test_read_only_lists_only_tools_annotated_read_only(read_only_client):
    tools = {t.name: t for t in (await read_only_client.list_tools()).tools}
    assert set(tools) == {
        "list_users",
        "get_user",
        "list_transactions",
        "proxy_request",
        "list_cards",
        "get_card",
        "spend_summary",
        "list_accounts",
        "list_expenses",
    }
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in tools.values())


async def test_read_only_freeze_is_unknown(read_only_client, sandbox):
    result = await read_only_client.call_tool("freeze_card", {"card_id": "ncard_1", "reason": "FRAUD"})
    assert result.is_error and sandbox.requests == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_read_only_proxy_refuses_writes_before_any_request(read_only_client, sandbox, method):
    result = await read_only_client.call_tool("proxy_request", {"method": method, "path": "/v2/cards/ncard_1/lock"})
    assert result.is_error and "read-only" in result.content[0].text
    assert sandbox.requests == []


async def test_read_only_proxy_still_reads(read_only_client):
    result = await read_only_client.call_tool("proxy_request", {"method": "GET", "path": "/v2/company"})
    assert result.structured_content["status"] == 200
