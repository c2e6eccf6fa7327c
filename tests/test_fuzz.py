"""Property-based fuzzing of every tool's arguments through an in-memory MCP client.

Every result must be a success or an isError with a message (a crash shows as the SDK's bare
"Error executing tool NAME"); an error that is not an upstream error means the input was refused, and
then nothing may have been sent upstream. The default run is short; the long run is

    FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py -p no:cacheprovider   # 5 tools x 2,000
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from tests.conftest import settings_for

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOOL_PARAMS = {
    "list_users": ["limit", "cursor", "email", "status"],
    "get_user": ["user_id"],
    "freeze_card": ["card_id", "reason", "description"],
    "list_transactions": ["limit", "cursor", "user_ids", "posted_at_start", "posted_at_end"],
    "proxy_request": ["method", "path", "query", "body"],
}

# Plausible values mixed with hostile ones, so that some calls get past validation and reach the sandbox.
plausible = st.sampled_from(
    [
        25,
        1,
        100,
        200,
        "active",
        "FRAUD",
        "GET",
        "POST",
        "/v2/cards",
        "/v2/users/me",
        "2026-09-01",
        "2026-09-01T23:59:59+05:00",
        "cuuser_rpbubggg006bdwgqbm3m",
        "ncard_hq5njmv8xrexj9dxs2dhpp",
        "eyJjIjpudWxsfQ",
        ["cuuser_rpbubggg006bdwgqbm3m"],
        {"limit": 2},
        {"reason": "OTHER"},
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 101, 201, 1001, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=5000),
    st.sampled_from(
        ["", " ", "\x00", "../../etc", "/v2/cards/x/pan", "a@b.c", "ñandú@例え.jp", "DROP TABLE", "%2e%2e"]
    ),
)
values = st.recursive(
    st.one_of(plausible, scalars),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def arguments(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    known = st.dictionaries(st.sampled_from(TOOL_PARAMS[tool]), values, max_size=len(TOOL_PARAMS[tool]))
    extra = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=2)
    return st.one_of(known, st.builds(lambda a, b: {**b, **a}, known, extra))


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[BlockingPortal, Any, Sandbox]]:
    """One sandbox and one MCP session for the module, driven from sync hypothesis tests through a portal."""
    with Sandbox(seed=7) as sb, start_blocking_portal() as portal:
        session = Client(build_server(settings_for(sb)))
        with portal.wrap_async_context_manager(session) as client:
            yield portal, client, sb


def check(live: tuple[BlockingPortal, Any, Sandbox], tool: str, args: dict[str, Any]) -> None:
    portal, client, sb = live
    before = sb.received
    result = portal.call(_call_bounded, client, tool, args)
    sent = sb.received - before
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert text.strip(), "a result without text"
    if not result.is_error:
        return
    assert text.strip() != f"Error executing tool {tool}", f"the tool crashed on {args!r}"
    upstream = _upstream_details(text)
    if upstream is None:
        assert sent == 0, f"refused input {args!r} still sent {sent} request(s) upstream: {text[:200]}"


async def _call_bounded(client: Any, tool: str, args: dict[str, Any]) -> Any:
    with anyio.fail_after(30):  # a hang fails the example instead of the whole run
        return await client.call_tool(tool, args)


def _upstream_details(text: str) -> dict[str, Any] | None:
    """The JSON an upstream error ends with ({"error": ..., "source": ...}), or None for a refused input."""
    start = text.rfind(" {")
    if start < 0:
        return None
    try:
        details = json.loads(text[start + 1 :])
    except ValueError:
        return None
    return details if isinstance(details, dict) and "source" in details else None


@pytest.mark.parametrize("tool", sorted(TOOL_PARAMS))
def test_any_arguments_give_a_result_or_a_clear_error_and_refused_ones_send_nothing(live, tool):
    @FUZZ
    @given(args=arguments(tool))
    def run(args: dict[str, Any]) -> None:
        check(live, tool, args)

    run()


def test_a_crash_would_be_noticed():
    """The oracle itself: the SDK's text for a crashing tool is exactly what `check` rejects."""
    assert _upstream_details('Not found. {"error":"not_found","source":"brex"}') == {
        "error": "not_found",
        "source": "brex",
    }
    assert _upstream_details("Error executing tool list_users: 1 validation error") is None
