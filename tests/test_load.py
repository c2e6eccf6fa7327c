"""Streamable HTTP under load: concurrent MCP sessions against `brex-mcp --sandbox` in its own process.

Every call must succeed, and the server's memory must come back to where it was after a warm-up
round of the same load (no per-session or per-call leak). The CI run is small; the full run is

    .venv/bin/python -m pytest -m slow tests/test_load.py     # 50 sessions x 20 calls, three rounds

The sandbox has no rate limit here, so the server runs with `--rate-limit off`: at Truto's real 50
requests / 10 s, 1,000 calls would take minutes by design.
"""

from __future__ import annotations

import gc
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import psutil
import pytest
from mcp import Client

from tests.processes import SERVER, clean_env, free_port, wait_for_port

pytestmark = pytest.mark.anyio

CALLS = [
    ("list_users", {"limit": 5}),
    ("get_user", {"user_id": "cuuser_rpbubggg006bdwgqbm3m"}),
    ("list_transactions", {"limit": 5}),
    ("proxy_request", {"method": "GET", "path": "/v2/cards", "query": {"limit": 2}}),
]


@contextmanager
def http_server(rate_limit: str = "off") -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER, "--sandbox", "--rate-limit", rate_limit, "--transport", "streamable-http", "--port", str(port)],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc)
        yield port, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def load(port: int, sessions: int, calls: int) -> list[str]:
    """`sessions` concurrent MCP sessions (half 2026-07-28, half the 2025-11-25 handshake) of `calls` calls each;
    returns one line per failed call."""
    failures: list[str] = []

    async def session(index: int) -> None:
        mode = "auto" if index % 2 == 0 else "legacy"
        try:
            async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
                for n in range(calls):
                    name, args = CALLS[(index + n) % len(CALLS)]
                    result = await client.call_tool(name, args)
                    if result.is_error:
                        failures.append(f"session {index} call {n} {name}: {result.content[0].text[:200]}")
        except Exception as exc:
            failures.append(f"session {index}: {type(exc).__name__}: {exc}"[:300])

    with anyio.fail_after(300):
        async with anyio.create_task_group() as tg:
            for i in range(sessions):
                tg.start_soon(session, i)
    return failures


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


async def settled_rss(process: psutil.Process) -> float:
    await anyio.sleep(1.0)  # let finished sessions and connections be torn down
    gc.collect()
    return rss_mb(process)


async def run_rounds(sessions: int, calls: int, rounds: int) -> tuple[list[str], list[float]]:
    with http_server() as (port, process):
        failures = await load(port, sessions, calls)  # warm-up: imports, caches, the sandbox's data
        levels = [await settled_rss(process)]
        for _ in range(rounds):
            failures += await load(port, sessions, calls)
            levels.append(await settled_rss(process))
    return failures, levels


async def test_concurrent_sessions_over_streamable_http_all_succeed_and_memory_returns_to_its_level():
    failures, levels = await run_rounds(sessions=6, calls=5, rounds=2)
    assert failures == []
    assert levels[-1] - levels[0] <= 8, f"RSS after warm-up and rounds (MB): {levels}"


@pytest.mark.slow
async def test_fifty_sessions_of_twenty_calls_all_succeed_and_memory_returns_to_its_level():
    started = time.monotonic()
    failures, levels = await run_rounds(sessions=50, calls=20, rounds=3)
    print(f"3 x 1000 calls in {time.monotonic() - started:.1f}s; RSS after warm-up and each round (MB): {levels}")
    assert failures == []
    # Before the sandbox capped its request log, three rounds grew it by about 6 MB.
    assert levels[-1] - levels[0] <= 4, f"RSS after warm-up and rounds (MB): {levels}"
