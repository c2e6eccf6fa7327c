"""Stateless replicas: a confirmation asked by one replica can be answered at another when they share keys."""

from __future__ import annotations

import itertools
import json
import subprocess

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from brex_mcp.config import ConfigError, HttpSettings, http_settings_from_env
from tests.conftest import answering
from tests.processes import SERVER, clean_env, free_port, serving

pytestmark = pytest.mark.anyio
KEY = "k" * 40


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer in miniature: each request goes to the next replica."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = itertools.cycle(ports)
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []

    async def handle_async_request(self, request):
        port = next(self.ports)
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)


async def freeze_across(sandbox, tmp_path, keys_a, keys_b):
    card = next(c for c in sandbox.data.cards if c["status"] == "ACTIVE")
    http = HttpSettings(stateless=True)
    audit = tmp_path / "audit.jsonl"
    with (
        serving(sandbox, http, state_keys=keys_a, audit_log=audit) as a,
        serving(sandbox, http, state_keys=keys_b, audit_log=audit) as b,
    ):
        balancer = RoundRobin([int(a.rsplit(":", 1)[1]), int(b.rsplit(":", 1)[1])])
        async with (
            httpx2.AsyncClient(transport=balancer, timeout=30) as client_http,
            Client(
                streamable_http_client(f"{a}/mcp", http_client=client_http),
                elicitation_callback=answering("accept", {"confirm": True}),
            ) as client,
        ):
            result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    return result, balancer, audit


async def test_replicas_sharing_keys_finish_each_others_confirmations(sandbox, tmp_path):
    result, balancer, audit = await freeze_across(sandbox, tmp_path, (KEY,), (KEY,))
    assert result.structured_content["confirmation"] == "confirmed_by_user"
    assert len(set(balancer.sent)) == 2  # the question and the answer really went to different replicas
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1
    assert [json.loads(line)["outcome"] for line in audit.read_text().splitlines()] == ["success"]


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


async def test_replicas_with_different_keys_refuse_the_answer_and_send_nothing(sandbox, tmp_path):
    from mcp import MCPError

    with pytest.raises(BaseException) as caught:  # the SDK client raises it inside its task group
        await freeze_across(sandbox, tmp_path, (KEY,), ("z" * 40,))
    assert any(isinstance(e, MCPError) and "Invalid or expired requestState" in str(e) for e in leaves(caught.value))
    assert [r for r in sandbox.requests if r.method == "POST"] == []


async def test_a_legacy_client_on_a_stateless_server_is_not_asked_and_policy_decides(sandbox):
    card = next(c for c in sandbox.data.cards if c["status"] == "ACTIVE")
    questions: list[str] = []
    with serving(sandbox, HttpSettings(stateless=True), state_keys=(KEY,)) as url:
        async with Client(
            f"{url}/mcp", mode="legacy", elicitation_callback=answering("accept", {"confirm": True}, questions)
        ) as client:
            result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
    assert (result.structured_content["confirmation"], questions) == ("client_cannot_ask", [])


def test_stateless_needs_shared_keys():
    with pytest.raises(ConfigError, match="BREX_MCP_STATE_KEYS"):
        http_settings_from_env({}, stateless=True)


def test_short_state_keys_are_refused():
    with pytest.raises(ConfigError, match="at least 32"):
        http_settings_from_env({"BREX_MCP_STATE_KEYS": "short"}, stateless=True)


def test_the_cli_refuses_stateless_without_keys():
    done = subprocess.run(
        [*SERVER, "--sandbox", "--transport", "streamable-http", "--stateless", "--port", str(free_port())],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "BREX_MCP_STATE_KEYS" in done.stderr
