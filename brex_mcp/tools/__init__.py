"""All tools, one module per domain, registered through tools.registry."""

from __future__ import annotations

from . import cards, proxy, transactions, users
from .registry import AppState, ToolSpec, build_tools

ALL_TOOLS: list[ToolSpec] = [*users.TOOLS, *cards.TOOLS, *transactions.TOOLS, *proxy.TOOLS]

__all__ = ["ALL_TOOLS", "AppState", "ToolSpec", "build_tools"]
