"""The command line as people use it."""

from __future__ import annotations

import json
import socket
import subprocess
import threading

from tests.processes import SERVER, RawStdio, clean_env


def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVER, *args], env=env or clean_env(), capture_output=True, text=True, timeout=timeout)


def test_without_credentials_it_exits_non_zero_naming_the_variable_and_the_sandbox():
    done = run()
    assert done.returncode == 2
    assert "TRUTO_API_TOKEN" in done.stderr and "--sandbox" in done.stderr
    assert done.stdout == ""


def test_tools_lists_every_tool():
    from tests.test_tools import TOOL_NAMES

    done = run("--sandbox", "tools")
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert (done.returncode, sorted(names)) == (0, sorted(TOOL_NAMES))


def test_tools_in_read_only_mode_omits_freeze_card():
    done = run("tools", "--sandbox", "--read-only")
    assert "freeze_card" not in done.stdout and "list_users" in done.stdout


def test_call_prints_the_structured_result_as_json():
    done = run("--sandbox", "call", "list_users", '{"limit": 2}')
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["users"]) == 2


def test_call_of_a_failing_tool_exits_1_with_the_error_on_stderr():
    done = run("--sandbox", "call", "get_user", '{"user_id": "cuuser_missing"}')
    assert done.returncode == 1 and "not_found" in done.stderr and done.stdout == ""


def test_call_with_arguments_that_are_not_json_exits_2():
    assert run("--sandbox", "call", "list_users", "{limit: 2}").returncode == 2


def test_starting_makes_no_network_call_before_the_first_request():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    connections = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept()[0])
            except TimeoutError:
                continue

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    env = clean_env(
        TRUTO_API_TOKEN="tok",
        TRUTO_INTEGRATED_ACCOUNT_ID="acc",
        TRUTO_BASE_URL=f"http://127.0.0.1:{listener.getsockname()[1]}",
    )
    server = RawStdio([], env=env)
    try:
        server.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
        )
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = server.request("tools/list", {})["result"]["tools"]
    finally:
        server.close()
        stop.set()
        thread.join()
        listener.close()
    assert len(tools) == 16
    assert connections == []
