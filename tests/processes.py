"""Helpers for tests that run brex-mcp as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from brex_mcp.config import HttpSettings

SERVER = [sys.executable, "-m", "brex_mcp"]


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any Truto or brex-mcp settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUTO_", "BREX_MCP_"))}
    env["BREX_MCP_AUDIT_LOG"] = os.path.join(tempfile.mkdtemp(prefix="brex-mcp-audit-"), "audit.jsonl")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


@contextmanager
def http_server(transport: str, *args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER, "--sandbox", "--transport", transport, "--port", str(port), *args],
        env=env or clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RawStdio:
    """Speaks newline-delimited JSON-RPC to the server and keeps every stdout line it reads."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*SERVER, *args],
            env=env or clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[bytes] = []
        self.next_id = 0

    def send(self, message: dict) -> None:
        self.proc.stdin.write(  # type: ignore[union-attr]
            json.dumps(message).encode() + b"\n"
        )
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            assert line, f"server closed stdout; stderr: {self.proc.stderr.read().decode()[-2000:]}"
            self.lines.append(line)
            message = json.loads(line)
            if message.get("id") == self.next_id:
                return message

    def call(self, name: str, arguments: dict) -> dict:
        response = self.request("tools/call", {"name": name, "arguments": arguments})
        assert not response["result"].get("isError"), response
        return response["result"]["structuredContent"]

    def close(self) -> bytes:
        rest, stderr = self.proc.communicate(timeout=20)  # closes stdin: the server sees EOF and exits
        self.lines += rest.splitlines(keepends=True)
        return stderr


@contextmanager
def serving(
    sandbox,
    http: HttpSettings,
    transport: str = "streamable-http",
    *,
    state_keys: tuple[str, ...] = (),
    **overrides: Any,
) -> Iterator[str]:
    """Our real app under uvicorn on 127.0.0.1, whatever host the settings describe."""
    import uvicorn

    from brex_mcp.server import build_server
    from brex_mcp.transports import build_http_app
    from tests.conftest import settings_for

    port = free_port()
    app = build_http_app(build_server(settings_for(sandbox, **overrides), state_keys=state_keys), transport, http)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
