"""Which tools exist: --read-only wins over everything, --exclude-tools over --tools; same on every transport."""

from __future__ import annotations

import subprocess

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from brex_mcp.config import ConfigError, settings_from_env
from brex_mcp.server import build_server
from tests.conftest import settings_for
from tests.processes import SERVER, clean_env, http_server

pytestmark = pytest.mark.anyio
ALL = {"list_users", "get_user", "freeze_card", "list_transactions", "proxy_request"}


async def served(settings) -> set[str]:
    return {tool.name for tool in await build_server(settings).list_tools()}


async def test_allowlist_serves_only_the_named_tools(sandbox):
    assert await served(settings_for(sandbox, tools=frozenset({"list_users", "get_user"}))) == {
        "list_users",
        "get_user",
    }


async def test_exclusion_wins_over_the_allowlist(sandbox):
    settings = settings_for(
        sandbox, tools=frozenset({"list_users", "freeze_card"}), exclude_tools=frozenset({"freeze_card"})
    )
    assert await served(settings) == {"list_users"}


async def test_read_only_wins_over_an_allowlist_that_names_a_write_tool(sandbox):
    settings = settings_for(sandbox, read_only=True, tools=frozenset({"freeze_card", "list_users"}))
    assert await served(settings) == {"list_users"}


def test_an_unknown_tool_name_is_a_configuration_error_listing_the_real_ones(sandbox):
    with pytest.raises(
        ConfigError, match=r"unknown tool name\(s\) freez_card; the tools are attach_receipt, freeze_card, get_card"
    ):
        build_server(settings_for(sandbox, exclude_tools=frozenset({"freez_card"})))


def test_a_selection_that_leaves_nothing_is_a_configuration_error(sandbox):
    with pytest.raises(ConfigError, match="leaves no tools"):
        build_server(settings_for(sandbox, read_only=True, tools=frozenset({"freeze_card"})))


def test_environment_variables_select_tools_like_the_flags():
    env = {
        "TRUTO_API_TOKEN": "t",
        "TRUTO_INTEGRATED_ACCOUNT_ID": "a",
        "BREX_MCP_TOOLS": "list_users, get_user,freeze_card",
        "BREX_MCP_EXCLUDE_TOOLS": "freeze_card",
    }
    settings = settings_from_env(env)
    assert (settings.tools, settings.exclude_tools) == (
        frozenset({"list_users", "get_user", "freeze_card"}),
        frozenset({"freeze_card"}),
    )


def test_flags_win_over_environment_variables():
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "BREX_MCP_TOOLS": "list_users"}
    assert settings_from_env(env, tools="get_user").tools == frozenset({"get_user"})


def test_cli_reports_an_unknown_tool_name_and_exits_2():
    done = subprocess.run(
        [*SERVER, "--sandbox", "--tools", "nope", "tools"], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "unknown tool name(s) nope" in done.stderr


SELECTION = ["--tools", "list_users,freeze_card,proxy_request", "--exclude-tools", "proxy_request", "--read-only"]


async def test_stdio_applies_the_selection():
    params = StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], "--sandbox", *SELECTION], env=clean_env())
    async with Client(params) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"list_users"}


async def test_streamable_http_applies_the_selection():
    with http_server("streamable-http", *SELECTION) as port:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"list_users"}


async def test_sse_applies_the_selection():
    with http_server("sse", *SELECTION) as port:
        async with Client(sse_client(f"http://127.0.0.1:{port}/sse"), mode="legacy") as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"list_users"}
