"""The ASGI entry point under uvicorn with two workers, stateless with shared keys, as deploy/ describes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mcp import Client

from brex_mcp.sandbox import Sandbox
from tests.conftest import answering
from tests.processes import clean_env, free_port, wait_for_port

pytestmark = pytest.mark.anyio


async def test_two_uvicorn_workers_serve_confirmed_freezes():
    with Sandbox() as sb:
        card = next(c for c in sb.data.cards if c["status"] == "ACTIVE")
        port = free_port()
        env = clean_env(
            TRUTO_API_TOKEN=sb.token,
            TRUTO_INTEGRATED_ACCOUNT_ID=sb.account_id,
            TRUTO_BASE_URL=sb.url,
            BREX_MCP_STATELESS="1",
            BREX_MCP_STATE_KEYS="s" * 40,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "brex_mcp.asgi:app", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(port, proc)
            yes = answering("accept", {"confirm": True})
            async with Client(f"http://127.0.0.1:{port}/mcp", elicitation_callback=yes) as client:
                result = await client.call_tool("freeze_card", {"card_id": card["id"], "reason": "FRAUD"})
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert result.structured_content["confirmation"] == "confirmed_by_user"
    assert card["status"] == "LOCKED"


def test_the_dockerfile_command_is_the_tested_entry_point():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parent.parent / "deploy" / "Dockerfile").read_text()
    assert '"brex_mcp.asgi:app"' in dockerfile and "BREX_MCP_STATELESS=1" in dockerfile
