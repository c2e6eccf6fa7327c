"""Shared fixtures: a fresh sandbox per test, settings pointing at it, and an in-memory MCP client."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from brex_mcp.config import RetryPolicy, Settings
from brex_mcp.sandbox import Sandbox

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_total_seconds=5)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as sb:
        yield sb


def settings_for(sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "truto_api_token": SecretStr(sb.token),
        "integrated_account_id": sb.account_id,
        "truto_base_url": sb.url,
        "retry": FAST_RETRY,
        "audit_log": Path(tempfile.mkdtemp(prefix="brex-mcp-audit-")) / "audit.jsonl",
    }
    if overrides.get("backend") == "brex":  # the sandbox's Brex face, reached with a Brex token
        values.update(
            brex_api_token=SecretStr(sb.brex_token), brex_base_url=sb.url, integrated_account_id="brex-direct"
        )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return settings_for(sandbox)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """2026-07-28 (the SDK Client's default) and the 2025-11-25 handshake most hosts still speak."""
    return request.param


@pytest.fixture
async def client(settings: Settings, mode: str) -> AsyncIterator[Any]:
    from mcp import Client

    from brex_mcp.server import build_server

    async with Client(build_server(settings), mode=mode) as c:
        yield c


def answering(action: str, content: dict[str, Any] | None = None, questions: list[str] | None = None) -> Any:
    """An elicitation callback that gives one fixed answer and records each question it was asked."""
    from mcp.types import ElicitResult

    async def callback(_context: Any, params: Any) -> ElicitResult:
        if questions is not None:
            questions.append(params.message)
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return callback
