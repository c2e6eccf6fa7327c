"""Run every benchmark and write BENCHMARKS.md: `python -m benchmarks` (about 3-4 minutes on 2 cores).

Each figure is a ratio against a baseline measured in the same run, median of several runs, so the
figures compare code, not machines. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m benchmarks"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


@dataclass
class Figure:
    name: str
    value: str
    target: str
    met: bool
    detail: str = ""


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


# -- 1. cold start -------------------------------------------------------------------------------------

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def stdio_cold_start(argv: list[str], env: dict[str, str]) -> float:
    """Spawn -> initialize -> tools/list answered, wall clock."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    proc.stdin.write(json.dumps(INIT).encode() + b"\n")
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode() + b"\n")
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode() + b"\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{argv} closed stdout before answering tools/list")
        if json.loads(line).get("id") == 2:
            break
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.wait(timeout=20)
    return elapsed


def bench_cold_start() -> Figure:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUTO_", "BREX_MCP_"))}
    ours_env = {**env, "TRUTO_API_TOKEN": "bench", "TRUTO_INTEGRATED_ACCOUNT_ID": "bench"}
    ours_env["TRUTO_BASE_URL"] = "http://127.0.0.1:9"  # never contacted: starting makes no network call
    ours_argv = [sys.executable, "-m", "brex_mcp"]
    bare_argv = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py")]
    stdio_cold_start(bare_argv, env)  # warm the OS file cache for both
    stdio_cold_start(ours_argv, ours_env)
    ours, bare = [], []
    for _ in range(max(RUNS, 7)):  # interleaved, so background noise hits both alike
        bare.append(stdio_cold_start(bare_argv, env))
        ours.append(stdio_cold_start(ours_argv, ours_env))
    o, b = statistics.median(ours), statistics.median(bare)
    return Figure(
        "1. Cold start over stdio (spawn -> tools/list)",
        f"{o / b:.2f}x ({o * 1000:.0f} ms vs bare SDK {b * 1000:.0f} ms)",
        "<= 1.15x",
        o / b <= 1.15,
        f"median of {len(ours)} interleaved runs each",
    )


# -- 2. one call in memory ---------------------------------------------------------------------------


VALIDATION: list[float] = []  # seconds the SDK client spent validating the last result against its output schema


def _time_client_validation() -> None:
    """Wrap the SDK client's output-schema check so its share of a call can be reported separately."""
    from mcp.client.session import ClientSession

    original = ClientSession.validate_tool_result
    if getattr(original, "timed", False):
        return

    async def timed(self: Any, name: str, result: Any) -> None:
        started = time.perf_counter()
        try:
            await original(self, name, result)
        finally:
            VALIDATION.append(time.perf_counter() - started)

    timed.timed = True  # type: ignore[attr-defined]
    ClientSession.validate_tool_result = timed  # type: ignore[method-assign]


async def _call_times(client: Client, tool: str, args: dict[str, Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        VALIDATION.clear()
        started = time.perf_counter()
        result = await client.call_tool(tool, args)
        out.append(time.perf_counter() - started)
        assert not result.is_error, result.content
    return out


def bench_one_call() -> Figure:
    from benchmarks.bare_server import build as build_bare
    from brex_mcp.sandbox import Sandbox
    from brex_mcp.server import build_server

    _time_client_validation()

    async def run() -> tuple[float, float, float, float]:
        with Sandbox() as sb:
            settings = _settings(sb)
            ours, bare, ours_check, bare_check = [], [], [], []
            async with (
                Client(build_server(settings)) as mine,
                Client(build_bare(sb.url, sb.token, sb.account_id)) as base,
            ):
                await _call_times(mine, "list_users", {"limit": 100}, 3)
                await _call_times(base, "raw_list_users", {"limit": 100}, 3)
                for _ in range(RUNS * 4):
                    ours += await _call_times(mine, "list_users", {"limit": 100}, 1)
                    ours_check.append(sum(VALIDATION))
                    bare += await _call_times(base, "raw_list_users", {"limit": 100}, 1)
                    bare_check.append(sum(VALIDATION))
            med = statistics.median
            return med(ours), med(bare), med(ours_check), med(bare_check)

    o, b, oc, bc = anyio.run(run)
    return Figure(
        "2. One call: list_users(limit=100), in-memory client",
        f"{o / b:.2f}x ({o * 1000:.1f} ms vs bare tool with raw httpx GET {b * 1000:.1f} ms); "
        f"{(o - oc) / (b - bc):.2f}x without the SDK client's output-schema check",
        "<= 1.25x",
        o / b <= 1.25,
        f"median of {RUNS * 4} interleaved calls each. Of each call, the SDK client spends a median "
        f"{oc * 1000:.1f} ms (ours) and {bc * 1000:.1f} ms (bare) re-validating the structured result against "
        "the tool's output schema with jsonschema: our schema types 100 users, the bare tool's is an untyped object",
    )


def _settings(sb: Any, **overrides: Any) -> Any:
    from pydantic import SecretStr

    from brex_mcp.config import Settings

    return Settings(
        truto_api_token=SecretStr(sb.token),
        integrated_account_id=sb.account_id,
        truto_base_url=sb.url,
        **overrides,
    )


# -- 3. full scan ----------------------------------------------------------------------------------------

SCAN_ROWS, SCAN_PAGE, SCAN_LATENCY = 100_000, 1000, 0.010


def bench_full_scan() -> Figure:
    from brex_mcp.sandbox import Sandbox

    with Sandbox() as sb:
        rows = sb.data.transactions
        base = list(rows)
        while len(rows) < SCAN_ROWS:
            for row in base[: SCAN_ROWS - len(rows)]:
                rows.append({**row, "id": f"{row['id']}x{len(rows)}"})
        sb.faults.add("/custom/v2/transactions", kind="delay", seconds=SCAN_LATENCY, times=None)
        env = {**os.environ, "BENCH_URL": sb.url, "BENCH_TOKEN": sb.token, "BENCH_ACCOUNT": sb.account_id}
        ours, bare, peaks = [], [], []
        for _ in range(RUNS):
            for mode, sink in (("raw", bare), ("ours", ours)):
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.scan_worker", mode],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    timeout=300,
                    check=True,
                )
                report = json.loads(out.stdout)
                assert report["rows"] == SCAN_ROWS, report
                sink.append(report["seconds"])
                if mode == "ours":
                    peaks.append(report["peak_rss_mb"])
    o, b, peak = statistics.median(ours), statistics.median(bare), max(peaks)
    return Figure(
        "3. Full scan: 100,000 transactions, pages of 1,000, +10 ms per page",
        f"{o / b:.2f}x ({o:.2f} s vs raw httpx loop {b:.2f} s); peak RSS {peak:.0f} MB",
        "<= 1.3x time, peak RSS < 200 MB",
        o / b <= 1.3 and peak < 200,
        f"median of {RUNS} runs each, each in its own process (peak RSS is that process's ru_maxrss); "
        "client-side rate limit off (the sandbox has none; at Truto's 50/10 s the 100 pages take >= 10 s by design)",
    )


# -- 4. context cost -------------------------------------------------------------------------------------


def bench_context() -> Figure:
    from brex_mcp.sandbox import Sandbox
    from brex_mcp.server import build_server

    def compact(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())

    async def run() -> tuple[float, float, int]:
        with Sandbox() as sb:
            async with Client(build_server(_settings(sb))) as client:
                users = await client.call_tool("list_users", {"limit": 100})
                txns = await client.call_tool("list_transactions", {"limit": 200})
                listing = await client.list_tools()
            ids = {u["id"] for u in users.structured_content["users"]}
            raw_users = [u for u in sb.data.users if u["id"] in ids]
            tids = {t["id"] for t in txns.structured_content["transactions"]}
            raw_txns = [t for t in sb.data.transactions if t["id"] in tids]
            assert len(raw_users) == len(ids) and len(raw_txns) == len(tids)
            user_ratio = len(users.content[0].text.encode()) / compact(raw_users)
            txn_ratio = len(txns.content[0].text.encode()) / compact(raw_txns)
            tools_bytes = compact(listing.model_dump(mode="json", by_alias=True, exclude_none=True))
            return user_ratio, txn_ratio, tools_bytes

    user_ratio, txn_ratio, tools_bytes = anyio.run(run)
    met = user_ratio <= 0.40 and txn_ratio <= 0.40 and tools_bytes <= 12 * 1024
    return Figure(
        "4. Context cost",
        f"list_users {user_ratio:.0%} and list_transactions {txn_ratio:.0%} of Brex's raw JSON per record; "
        f"tools/list {tools_bytes / 1024:.1f} KB",
        "<= 40% per record; tools/list <= 12 KB",
        met,
        "default output (text content) of 100 users / 200 transactions vs Brex's objects for the same ids, "
        "both compact JSON",
    )


# -- 5. streamable HTTP -----------------------------------------------------------------------------------

LEVELS = {1: 60, 10: 200, 50: 400}  # concurrent clients -> calls per measurement


def _serve(argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    from tests.processes import free_port, wait_for_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUTO_", "BREX_MCP_"))}
    proc = subprocess.Popen([*argv, str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    return proc, port


async def _http_level(
    port: int, tool: str, args: dict[str, Any], clients: int, calls: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    per_client = calls // clients

    async def one() -> None:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await client.call_tool(tool, args)  # connect and warm outside the timing
            await ready.wait()
            for _ in range(per_client):
                started = time.perf_counter()
                result = await client.call_tool(tool, args)
                latencies.append(time.perf_counter() - started)
                assert not result.is_error, result.content

    ready = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(one)
        await anyio.sleep(0.5 + clients * 0.05)
        started = time.perf_counter()
        ready.set()
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def bench_http() -> Figure:
    ours_argv = [sys.executable, "-m", "brex_mcp", "--sandbox", "--rate-limit", "off", "--transport"]
    ours_argv += ["streamable-http", "--port"]
    bare_argv = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py"), "--http"]
    rows, ratios = [], []
    ours_proc, ours_port = _serve(ours_argv)
    bare_proc, bare_port = _serve(bare_argv)
    try:
        for clients, calls in LEVELS.items():
            results: dict[str, list[tuple[float, list[float]]]] = {"ours": [], "bare": []}
            for _ in range(RUNS):
                results["bare"].append(
                    anyio.run(_http_level, bare_port, "raw_list_users", {"limit": 5}, clients, calls)
                )
                results["ours"].append(anyio.run(_http_level, ours_port, "list_users", {"limit": 5}, clients, calls))
            summary = {}
            for side, runs in results.items():
                throughput = statistics.median(r[0] for r in runs)
                lat = sorted(x for r in runs for x in r[1])
                summary[side] = (throughput, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))])
            ratio = summary["ours"][0] / summary["bare"][0]
            ratios.append(ratio)
            rows.append(
                f"{clients} clients: {summary['ours'][0]:.0f} vs {summary['bare'][0]:.0f} calls/s ({ratio:.2f}x); "
                f"p50 {summary['ours'][1] * 1000:.0f} vs {summary['bare'][1] * 1000:.0f} ms; "
                f"p99 {summary['ours'][2] * 1000:.0f} vs {summary['bare'][2] * 1000:.0f} ms"
            )
    finally:
        for proc in (ours_proc, bare_proc):
            proc.terminate()
            proc.wait(timeout=10)
    return Figure(
        "5. Streamable HTTP: list_users(limit=5) vs the bare SDK server's raw tool",
        f"worst {min(ratios):.2f}x throughput",
        ">= 0.8x throughput at 1, 10 and 50 clients",
        min(ratios) >= 0.8,
        "; ".join(rows) + f". Median of {RUNS} runs per level; client and servers share the 2 cores; "
        "ours with --rate-limit off (the sandbox has no limit)",
    )


# -- report ---------------------------------------------------------------------------------------------------


def machine() -> str:
    from importlib.metadata import version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.platform()}; {cpu}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"mcp {version('mcp')}; httpx {version('httpx')}"
    )


BENCHES = {
    "cold_start": bench_cold_start,
    "one_call": bench_one_call,
    "full_scan": bench_full_scan,
    "context": bench_context,
    "http": bench_http,
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(BENCHES)
    sys.path.insert(0, str(ROOT))
    figures = []
    for name in names:
        started = time.monotonic()
        figure = BENCHES[name]()
        print(f"{figure.name}: {figure.value} (target {figure.target}) [{time.monotonic() - started:.0f}s]")
        figures.append(figure)
    lines = [
        "# Benchmarks",
        "",
        f"Command: `{COMMAND}` (from the repository root, with `pip install -e '.[bench]'`), "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Every figure is a ratio against a baseline measured in the same run (median of several runs).",
        "",
        "| Figure | Result | Target | Met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.value} | {f.target} | {'yes' if f.met else 'NO'} |" for f in figures]
    lines += ["", "## Details", ""]
    lines += [f"- **{f.name}**: {f.detail}" for f in figures]
    notes = ROOT / "benchmarks" / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    if names == list(BENCHES):
        (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")
        print("wrote BENCHMARKS.md")
    return 0
