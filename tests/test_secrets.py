"""A canary Truto token goes through every scenario and must come out nowhere."""

from __future__ import annotations

import json
import logging

import pytest
from mcp import Client
from mcp.types import ElicitResult

from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from brex_mcp.truto import TrutoClient
from tests.conftest import settings_for
from tests.processes import RawStdio, clean_env

pytestmark = pytest.mark.anyio
CANARY = "canary-7f3a9c1e-truto-token-should-never-appear"


def echo_faults(sb: Sandbox) -> None:
    """Upstream errors that quote the token back, in each place an error body can carry text."""
    sb.faults.add(
        "/unified/user-directory/users/cuuser_echo1",
        400,
        body=json.dumps({"statusCode": 400, "error": "Bad Request", "message": f"bad auth header Bearer {CANARY}"}),
    )
    sb.faults.add(
        "/unified/user-directory/users/cuuser_echo2",
        502,
        times=10,
        body=json.dumps(
            {
                "statusCode": 502,
                "error": "Bad Gateway",
                "message": "",
                "truto_is_remote_error": True,
                "raw_response": f"upstream said: token={CANARY}",
            }
        ),
    )
    sb.faults.add(
        "/custom/v2/departments",
        403,
        body=json.dumps(
            {
                "statusCode": 403,
                "error": "Forbidden",
                "message": "",
                "truto_is_remote_error": True,
                "raw_response": {"type": "FORBIDDEN", "message": f"token {CANARY} lacks scope"},
            }
        ),
    )
    sb.faults.add("/custom/v2/titles", 500, times=10, body=f"<html>Internal error for {CANARY}</html>")


async def yes(_context, _params):
    return ElicitResult(action="accept", content={"confirm": True})


async def test_the_token_appears_in_no_result_log_audit_line_or_repr(caplog):
    caplog.set_level(logging.DEBUG)
    with Sandbox(token=CANARY) as sb:
        echo_faults(sb)
        sb.faults.add("/custom/v2/transactions", 429, headers={"Retry-After": "0"})
        settings = settings_for(sb)
        card = next(c for c in sb.data.cards if c["status"] == "ACTIVE")
        bad_card = next(c for c in sb.data.cards if c["status"] == "ACTIVE" and c["id"] != card["id"])
        sb.faults.add(
            f"/custom/v2/cards/{bad_card['id']}/lock",
            400,
            body=json.dumps({"statusCode": 400, "error": "Bad Request", "message": f"echo {CANARY}"}),
        )
        calls = [
            ("list_users", {"limit": 5}),
            ("get_user", {"user_id": sb.data.users[0]["id"]}),
            ("get_user", {"user_id": "cuuser_echo1"}),
            ("get_user", {"user_id": "cuuser_echo2"}),
            ("list_transactions", {"limit": 5}),
            ("proxy_request", {"method": "GET", "path": "/v2/departments"}),
            ("proxy_request", {"method": "GET", "path": "/v2/titles"}),
            ("freeze_card", {"card_id": card["id"], "reason": "FRAUD", "dry_run": True}),
            ("freeze_card", {"card_id": card["id"], "reason": "FRAUD"}),
            ("freeze_card", {"card_id": bad_card["id"], "reason": "FRAUD"}),
        ]
        seen = []
        server = build_server(settings)
        async with Client(server, elicitation_callback=yes) as client:
            for name, args in calls:
                result = await client.call_tool(name, args)
                seen.append(" ".join(getattr(b, "text", "") for b in result.content))
                seen.append(json.dumps(result.structured_content))
        truto = TrutoClient(settings)
        seen += [repr(settings), str(settings), settings.model_dump_json(), repr(truto), repr(server)]
        await truto.aclose()
        seen.append(settings.audit_log.read_text())
    assert any("lacks scope" in text for text in seen)  # the echoes really reached the tools
    assert caplog.records  # and logging really ran at DEBUG
    for text in [*seen, caplog.text]:
        assert CANARY not in text


def test_the_token_never_reaches_stdout_or_stderr_of_a_debug_logging_server():
    with Sandbox(token=CANARY) as sb:
        echo_faults(sb)
        env = clean_env(TRUTO_API_TOKEN=CANARY, TRUTO_INTEGRATED_ACCOUNT_ID=sb.account_id, TRUTO_BASE_URL=sb.url)
        server = RawStdio(["--log-level", "DEBUG"], env=env)
        try:
            server.request(
                "initialize",
                {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
            )
            server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            for name, args in [
                ("list_users", {"limit": 2}),
                ("get_user", {"user_id": "cuuser_echo1"}),
                ("get_user", {"user_id": "cuuser_echo2"}),
                ("proxy_request", {"method": "GET", "path": "/v2/titles"}),
            ]:
                server.request("tools/call", {"name": name, "arguments": args})
        finally:
            stderr = server.close()
    assert b"DEBUG" in stderr
    assert CANARY.encode() not in stderr and all(CANARY.encode() not in line for line in server.lines)
