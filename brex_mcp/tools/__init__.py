"""All tools, one module per domain, registered through tools.registry."""

from __future__ import annotations

from . import (
    accounts,
    card_reads,
    card_unlock,
    cards,
    expenses,
    offboarding,
    provisioning,
    proxy,
    spend,
    transactions,
    users,
)
from .registry import AppState, ToolSpec, build_tools

ALL_TOOLS: list[ToolSpec] = [
    *users.TOOLS,
    *cards.TOOLS,
    *transactions.TOOLS,
    *proxy.TOOLS,
    *card_reads.TOOLS,
    *card_unlock.TOOLS,
    *offboarding.TOOLS,
    *spend.TOOLS,
    *accounts.TOOLS,
    *provisioning.TOOLS,
    *expenses.TOOLS,
]

__all__ = ["ALL_TOOLS", "AppState", "ToolSpec", "build_tools"]
