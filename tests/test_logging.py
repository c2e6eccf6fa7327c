"""Structured logs: one JSON object per line, each tool call with an id that also goes upstream."""

from __future__ import annotations

import io
import json
import logging
import subprocess

import pytest

from brex_mcp.logs import JsonFormatter
from tests.processes import SERVER, clean_env

pytestmark = pytest.mark.anyio


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("brex_mcp.calls")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(old)


async def test_each_tool_call_logs_its_outcome_with_an_id_that_also_went_upstream(client, sandbox, json_lines):
    await client.call_tool("get_user", {"user_id": sandbox.data.users[0]["id"]})
    await client.call_tool("get_user", {"user_id": "cuuser_missing"})
    first, second = [e for e in json_lines() if e["message"] == "tool call finished"]
    assert (first["tool"], first["is_error"], second["is_error"]) == ("get_user", False, True)
    assert first["request_id"] != second["request_id"]
    sent = [r.headers["x-request-id"] for r in sandbox.requests]  # a call may make several upstream requests
    first_calls = sent.count(first["request_id"])
    assert first_calls >= 1 and sent == [first["request_id"]] * first_calls + [second["request_id"]] * (
        len(sent) - first_calls
    )


def test_the_log_level_comes_from_the_environment():
    done = subprocess.run(
        [*SERVER, "--sandbox", "call", "list_users", '{"limit": 1}'],
        env=clean_env(BREX_MCP_LOG_LEVEL="info"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(e["message"] == "tool call finished" and e["level"] == "INFO" for e in entries)
    assert json.loads(done.stdout)["users"]
