"""The one place tools are registered; each tool's annotations also decide whether read-only mode lists it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from ..audit import AuditLog
from ..brex_direct import client_for
from ..config import ACCOUNT_HEADER, ConfigError, Settings
from ..continuations import Continuations
from ..directory import Directory
from ..errors import MalformedResponse, UpstreamError
from ..idempotency import KeyMemory
from ..output import compact_schema
from ..truto import TrutoClient

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


@dataclass
class AccountState:
    """What tool calls for one integrated account share: its client view, audit binding, keys, names."""

    settings: Settings
    client: TrutoClient
    audit: AuditLog
    keys: KeyMemory
    directory: Directory
    continuations: Continuations = field(default_factory=Continuations)  # resumable summaries


@dataclass
class AppState:
    """What every tool call shares for the life of the process: one connection pool, one audit file, and a
    state per integrated account, so nothing (cached names, idempotency keys) crosses accounts."""

    settings: Settings
    http: httpx.AsyncClient
    audit: AuditLog
    client: TrutoClient | None = None  # one upstream client for every account, when the builder gave one
    accounts: dict[str, AccountState] = field(default_factory=dict)

    def for_account(self, account_id: str) -> AccountState:
        state = self.accounts.get(account_id)
        if state is None:
            settings = self.settings.model_copy(update={"integrated_account_id": account_id})
            client = self.client or client_for(settings, http=self.http)
            state = AccountState(settings, client, self.audit.bound_to(account_id), KeyMemory(), Directory(client))
            self.accounts[account_id] = state
        return state


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


def build_tools(specs: Sequence[ToolSpec], settings: Settings) -> list[Tool]:
    """The tools the operator allows: read-only mode by annotations first, then the exclusions, then the
    allowlist. The same list serves every transport because it decides what exists."""
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
        tools.append(_tool(spec, settings.read_only))
    if not tools:
        raise ConfigError("the tool selection leaves no tools to serve; check --tools, --exclude-tools, --read-only")
    return tools


_BUILT: dict[tuple[int, bool], Tool] = {}


def _tool(spec: ToolSpec, read_only: bool) -> Tool:
    """Built once per process: deriving argument and output schemas is most of a server's start-up cost,
    and a Tool holds nothing specific to one server."""
    key = (id(spec.fn), read_only)
    if key not in _BUILT:
        tool = Tool.from_function(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations_for(read_only),
            structured_output=True,
        )
        _strict_arguments(tool)
        _BUILT[key] = tool
    return _BUILT[key]


def _strict_arguments(tool: Tool) -> None:
    """Refuse unknown argument names and loose coercions ("5" for 5): a misspelt filter must not be ignored.

    The SDK builds the argument model with pydantic's defaults; we derive a strict subclass from it and
    publish its schema, which then also tells the model `additionalProperties: false`. Optional arguments
    are published without their null branch: leaving one out is how to say "none".
    """
    loose = tool.fn_metadata.arg_model
    config = ConfigDict(**{**loose.model_config, "extra": "forbid", "strict": True})
    strict = type(loose.__name__, (loose,), {"model_config": config, "__module__": loose.__module__})
    tool.fn_metadata.arg_model = strict
    # Same fields as the SDK's model, so its schema plus `additionalProperties: false` is the strict one's,
    # without paying for a second schema generation at start-up.
    tool.parameters = compact_schema({**tool.parameters, "additionalProperties": False})


def app_state(ctx: Context[Any, Any]) -> AccountState:
    """The state for the account this call is for: the header's in hosted mode, else the configured one."""
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):  # only when a server is built without our lifespan
        raise RuntimeError("brex-mcp tools need the server lifespan's AppState")
    return state.for_account(call_account(state.settings, ctx.headers))


def call_account(settings: Settings, headers: Mapping[str, str] | None) -> str:
    chosen = None
    for name, value in (headers or {}).items():
        if name.lower() == ACCOUNT_HEADER:
            chosen = value.strip()
    if chosen is None:
        if settings.integrated_account_id:
            return settings.integrated_account_id
        raise ToolError(f"This server serves several accounts: send the {ACCOUNT_HEADER} header to choose one.")
    if not settings.allowed_accounts:
        raise ToolError(f"This server serves one account; the {ACCOUNT_HEADER} header is not accepted.")
    if chosen not in settings.allowed_accounts:
        raise ToolError(f"Integrated account {chosen[:80]!r} is not one this server may serve.")
    return chosen


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
