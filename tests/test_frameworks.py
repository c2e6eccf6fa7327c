"""An agent framework people use with MCP, in its own environment, drives brex-mcp over stdio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import clean_env

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".tools" / "pydantic-ai" / "bin" / "python"
BREX_MCP = Path(sys.executable).with_name("brex-mcp")

if not PYTHON.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install pydantic-ai first: scripts/install-frameworks")
    pytest.skip("pydantic-ai not installed (run scripts/install-frameworks)", allow_module_level=True)


def test_a_pydantic_ai_agent_calls_list_users_and_answers_from_the_result():
    done = subprocess.run(
        [str(PYTHON), str(ROOT / "examples" / "frameworks" / "pydantic_ai_agent.py"), str(BREX_MCP), "--sandbox"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Users: Linda Mitchell, Michelle Nelson"
