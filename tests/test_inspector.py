"""An independent, non-Python client: the MCP Inspector CLI against `brex-mcp --sandbox` over stdio."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import clean_env

ROOT = Path(__file__).resolve().parent.parent
INSPECTOR = ROOT / ".tools" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"
BREX_MCP = shutil.which("brex-mcp") or str(Path(os.sys.executable).with_name("brex-mcp"))

if not INSPECTOR.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install the MCP Inspector CLI first: scripts/install-inspector")
    pytest.skip("MCP Inspector CLI not installed (run scripts/install-inspector)", allow_module_level=True)


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSPECTOR), "--cli", BREX_MCP, "--sandbox", *args, "--format", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )


def test_inspector_lists_every_tool():
    done = inspect("--method", "tools/list")
    assert done.returncode == 0, done.stderr
    names = {tool["name"] for tool in json.loads(done.stdout)["result"]["tools"]}
    assert names == {
        "list_users",
        "get_user",
        "freeze_card",
        "list_transactions",
        "proxy_request",
        "issue_card",
        "onboard_user",
        "list_expenses",
        "attach_receipt",
        "update_expense_memo",
    }


def test_inspector_calls_list_users():
    done = inspect("--method", "tools/call", "--tool-name", "list_users", "--tool-args-json", '{"limit": 2}')
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["result"]["structuredContent"]["users"]) == 2


def test_inspector_sees_a_tool_error_as_exit_code_5():
    done = inspect("--method", "tools/call", "--tool-name", "get_user", "--tool-args-json", '{"user_id": "nope"}')
    assert done.returncode == 5
