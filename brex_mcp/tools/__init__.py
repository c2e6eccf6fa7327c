"""All tools, one module per domain, registered through tools.registry."""

from __future__ import annotations

from . import cards, expenses, provisioning, proxy, transactions, users
from .registry import AppState, ToolSpec, select_tools

ALL_TOOLS: list[ToolSpec] = [
    *users.TOOLS,
    *cards.TOOLS,
    *transactions.TOOLS,
    *proxy.TOOLS,
    *provisioning.TOOLS,
    *expenses.TOOLS,
]

__all__ = ["ALL_TOOLS", "AppState", "ToolSpec", "select_tools"]
