"""Every sandbox fault against every tool (see tests/fault_matrix.py; `python -m tests.fault_matrix` prints it)."""

from __future__ import annotations

import pytest

from tests.fault_matrix import COLUMNS, FAULTS, run_matrix, scenarios


@pytest.mark.anyio
async def test_every_fault_against_every_tool_ends_in_a_successful_retry_or_an_error_naming_its_cause():
    cells = await run_matrix()  # the six columns run side by side, each in its own MCP session
    assert len(cells) == len(scenarios()) * len(COLUMNS)
    failures = [
        f"{c.column} x {c.fault} ({'always' if c.persistent else 'once'}): {c.label}" for c in cells if c.problems
    ]
    assert failures == []


def test_the_matrix_uses_every_fault_kind_the_sandbox_has():
    from brex_mcp.sandbox.faults import FAULT_KINDS

    assert {f.kwargs.get("kind", "status") for f in FAULTS} == set(FAULT_KINDS)
