"""The host configuration examples parse, launch an absolute executable, and keep secrets out of args."""

from __future__ import annotations

import json
import ntpath
import posixpath
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [*sorted((ROOT / "examples" / "clients").glob("*.json")), ROOT / "mcp.json.example"]


def servers(config: dict) -> dict:
    return config.get("mcpServers") or config["servers"]  # VS Code names the key "servers"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_launches_an_absolute_executable(path):
    config = json.loads(path.read_text())
    for server in servers(config).values():
        command = server["command"]
        assert posixpath.isabs(command) or ntpath.isabs(command), command  # relative names fail with ENOENT
        assert command.replace("\\", "/").split("/")[-1] in ("brex-mcp", "brex-mcp.exe")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_keeps_credentials_in_env_not_args(path):
    for server in servers(json.loads(path.read_text())).values():
        assert not any("token" in arg.lower() or "TRUTO_" in arg for arg in server["args"])
        if "--sandbox" not in server["args"]:
            assert set(server["env"]) == {"TRUTO_API_TOKEN", "TRUTO_INTEGRATED_ACCOUNT_ID"}


def test_examples_cover_the_hosts_the_readme_names():
    names = {p.name for p in EXAMPLES}
    assert {
        "claude_desktop.macos.json",
        "claude_desktop.windows.json",
        "claude_code.mcp.json",
        "cursor.mcp.json",
        "vscode.mcp.json",
    } <= names


def test_vscode_example_prompts_for_the_token_as_a_password():
    config = json.loads((ROOT / "examples" / "clients" / "vscode.mcp.json").read_text())
    token_input = next(i for i in config["inputs"] if i["id"] == "truto-token")
    assert token_input["password"] is True
