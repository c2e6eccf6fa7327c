"""The one place tools are registered; each tool's annotations also decide whether read-only mode lists it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from ..audit import AuditLog
from ..config import ConfigError, Settings
from ..directory import Directory
from ..errors import MalformedResponse, UpstreamError
from ..idempotency import KeyMemory
from ..truto import TrutoClient

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


@dataclass
class AppState:
    """What every tool call shares for the life of the process."""

    settings: Settings
    client: TrutoClient
    audit: AuditLog
    keys: KeyMemory
    directory: Directory


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    title: str
    description: str
    annotations: ToolAnnotations
    # A tool that narrows itself to reads in read-only mode declares how it then presents itself.
    read_only_annotations: ToolAnnotations | None = None

    @property
    def name(self) -> str:
        return self.fn.__name__

    def annotations_for(self, read_only: bool) -> ToolAnnotations:
        if read_only and self.read_only_annotations is not None:
            return self.read_only_annotations
        return self.annotations


def select_tools(specs: Sequence[ToolSpec], settings: Settings) -> list[Tool]:
    """The tools the operator allows: read-only mode by annotations first, then the exclusions, then the
    allowlist. The same filter serves every transport because it decides what exists."""
    known = {spec.name for spec in specs}
    named = (settings.tools or frozenset()) | settings.exclude_tools
    if named - known:
        raise ConfigError(
            f"unknown tool name(s) {', '.join(sorted(named - known))}; the tools are {', '.join(sorted(known))}"
        )
    tools = []
    for spec in specs:
        annotations = spec.annotations_for(settings.read_only)
        if settings.read_only and not annotations.read_only_hint:
            continue
        if spec.name in settings.exclude_tools or (settings.tools is not None and spec.name not in settings.tools):
            continue
        tools.append(_built(spec, settings.read_only))
    if not tools:
        raise ConfigError("the tool selection leaves no tools to serve; check --tools, --exclude-tools, --read-only")
    return tools


_BUILT: dict[tuple[int, bool], tuple[ToolSpec, Tool]] = {}


def _built(spec: ToolSpec, read_only: bool) -> Tool:
    """A tool's schemas, built once per process: building them is most of the cost of a server, and a Tool
    holds nothing specific to one server."""
    key = (id(spec), read_only)
    cached = _BUILT.get(key)
    if cached is None or cached[0] is not spec:
        tool = Tool.from_function(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations_for(read_only),
            structured_output=True,
        )
        cached = _BUILT[key] = (spec, tool)
    return cached[1]


def app_state(ctx: Context[Any, Any]) -> AppState:
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):  # only when a server is built without our lifespan
        raise RuntimeError("brex-mcp tools need the server lifespan's AppState")
    return state


@contextmanager
def tool_errors() -> Iterator[None]:
    """Upstream failures become isError results the model can read and act on."""
    try:
        yield
    except UpstreamError as exc:
        raise ToolError(exc.describe()) from None


def expect_object(data: Any, what: str) -> dict[str, Any]:
    """An upstream reply that should be one object but is not is a fault, not an empty answer."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise MalformedResponse(f"The upstream answered without a {what} object")
    return data


def structured(model: BaseModel) -> CallToolResult:
    """The result as structured content plus the same JSON, compact, as text for clients that read only text.

    Nulls are left out of both: they cost the model context and say nothing the schema does not.
    """
    data = model.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
