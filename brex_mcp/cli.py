"""Command line: serve MCP (stdio by default), list the tools, or call one tool through a real MCP client.

In stdio mode stdout is the protocol: everything this module says to people goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import ConfigError, Settings, http_settings_from_env, settings_from_env

log = logging.getLogger("brex_mcp")
EXIT_CONFIG = 2
EXIT_TOOL_ERROR = 1


FLAG: dict[str, Any] = {"action": "store_true"}
OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--sandbox",), FLAG | {"help": "serve against the built-in Truto/Brex sandbox; no credentials needed"}),
    (
        ("--read-only",),
        FLAG | {"help": "only read-only tools; proxy_request refuses writes (env BREX_MCP_READ_ONLY=1)"},
    ),
    (("--tools",), {"metavar": "A,B", "help": "serve only these tools (env BREX_MCP_TOOLS)"}),
    (
        ("--exclude-tools",),
        {"metavar": "A,B", "help": "never serve these; wins over --tools (env BREX_MCP_EXCLUDE_TOOLS)"},
    ),
    (
        ("--confirm-writes",),
        {
            "choices": ["auto", "always", "never"],
            "help": "ask the person before a write: where the client can (auto, default), always (refuse when it "
            "cannot ask), never (env BREX_MCP_CONFIRM_WRITES)",
        },
    ),
    (
        ("--audit-log",),
        {
            "metavar": "PATH",
            "help": "JSON-lines log of writes (env BREX_MCP_AUDIT_LOG; default ~/.local/state/brex-mcp/audit.jsonl)",
        },
    ),
    (("--allow-unknown-endpoints",), FLAG | {"help": "let proxy_request reach paths missing from the catalog"}),
    (("--transport",), {"choices": ["stdio", "sse", "streamable-http"], "help": "how to serve MCP (default stdio)"}),
    (("--host",), {"help": "HTTP bind address (default 127.0.0.1)"}),
    (("--port",), {"type": int, "help": "HTTP port (default 8000)"}),
    (
        ("--allowed-hosts",),
        {"metavar": "H1,H2", "help": "Host names HTTP clients use; required off loopback (env BREX_MCP_ALLOWED_HOSTS)"},
    ),
    (("--allowed-origins",), {"metavar": "O1,O2", "help": "browser Origins allowed (env BREX_MCP_ALLOWED_ORIGINS)"}),
    (
        ("--stateless",),
        FLAG | {"help": "no sticky sessions, for replicas (env BREX_MCP_STATELESS; needs BREX_MCP_STATE_KEYS)"},
    ),
    (
        ("--rate-limit",),
        {
            "metavar": "N/SECONDS",
            "help": "client-side limit per integrated account, e.g. 50/10 (Truto's; Brex direct: 1000/60) or off "
            "(env BREX_MCP_RATE_LIMIT)",
        },
    ),
    (
        ("--sandbox-faults",),
        {
            "metavar": "SPEC",
            "help": "with --sandbox: inject faults, e.g. '429,retry_after=2,times=3;reset,path=/custom' (see README)",
        },
    ),
    (("--integrated-account-id",), {"help": "Truto integrated account id (env TRUTO_INTEGRATED_ACCOUNT_ID)"}),
    (
        ("--allowed-accounts",),
        {
            "metavar": "A,B",
            "help": "hosted mode: HTTP calls choose one of these accounts with the X-Truto-Integrated-Account-Id "
            "header (env BREX_MCP_ALLOWED_ACCOUNTS)",
        },
    ),
    (("--truto-base-url",), {"help": "Truto API origin (env TRUTO_BASE_URL, default https://api.truto.one)"}),
    (
        ("--log-level",),
        {
            "choices": ["DEBUG", "INFO", "WARNING", "ERROR"],
            "help": "stderr log level (env BREX_MCP_LOG_LEVEL, default WARNING)",
        },
    ),
]


def _parser() -> argparse.ArgumentParser:
    # Shared options are accepted before or after the command; SUPPRESS keeps the sub-parser from
    # overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    for flags, options in OPTIONS:
        common.add_argument(*flags, default=argparse.SUPPRESS, **options)

    parser = argparse.ArgumentParser(
        prog="brex-mcp",
        parents=[common],
        description="MCP server for Brex through Truto. The Truto token is read from TRUTO_API_TOKEN only, "
        "never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"brex-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", parents=[common], help="serve MCP (the default)")
    commands.add_parser("tools", parents=[common], help="list the tools and exit")
    commands.add_parser(
        "doctor", parents=[common], help="check configuration, credentials and scopes; exit 1 on a problem"
    )
    call = commands.add_parser("call", parents=[common], help="call one tool and print its result as JSON")
    call.add_argument("tool", help="tool name, e.g. list_users")
    call.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    return parser


DEFAULTS: dict[str, Any] = {
    "sandbox": False,
    "read_only": False,
    "transport": "stdio",
    "host": "127.0.0.1",
    "port": 8000,
    "integrated_account_id": None,
    "truto_base_url": None,
    "tools": None,
    "exclude_tools": None,
    "confirm_writes": None,
    "audit_log": None,
    "allow_unknown_endpoints": False,
    "allowed_hosts": None,
    "allowed_origins": None,
    "allowed_accounts": None,
    "stateless": False,
    "rate_limit": None,
    "sandbox_faults": None,
    "log_level": None,
    "command": None,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    for name, value in DEFAULTS.items():
        if not hasattr(args, name) or getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _settings(args: argparse.Namespace) -> Settings:
    credentials = brex_credentials = None
    if args.sandbox_faults and not args.sandbox:
        raise ConfigError("--sandbox-faults works only with --sandbox")
    if args.sandbox:
        from .sandbox import Sandbox

        hosted = [a for a in (args.allowed_accounts or "").split(",") if a.strip()]
        others = {account.strip(): 100 + i for i, account in enumerate(hosted)}  # each its own company
        try:
            sandbox = Sandbox(
                other_accounts={a: seed for a, seed in others.items() if a != "sandbox-account"},
                faults=args.sandbox_faults,
            )
        except ValueError as exc:
            raise ConfigError(f"--sandbox-faults: {exc}") from None
        url = sandbox.start()
        if args.sandbox_faults:
            print(f"brex-mcp: sandbox faults armed: {args.sandbox_faults}", file=sys.stderr)
        print(f"brex-mcp: sandbox mode, a simulated company served on {url} (no real Brex data)", file=sys.stderr)
        default = "" if hosted and "sandbox-account" not in others else sandbox.account_id
        credentials = (sandbox.token, default, url)
        brex_credentials = (sandbox.brex_token, url)
    return settings_from_env(
        credentials=credentials,
        brex_credentials=brex_credentials,
        integrated_account_id=args.integrated_account_id,
        truto_base_url=args.truto_base_url,
        read_only=args.read_only or None,
        tools=args.tools,
        exclude_tools=args.exclude_tools,
        confirm_writes=args.confirm_writes,
        audit_log=args.audit_log,
        allow_unknown_endpoints=args.allow_unknown_endpoints or None,
        allowed_accounts=args.allowed_accounts,
        rate_limit=args.rate_limit,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from .logs import configure

    configure(args.log_level or os.environ.get("BREX_MCP_LOG_LEVEL", "").upper() or "WARNING")
    if args.command == "doctor":
        return _doctor(args)
    try:
        http = None
        if args.transport != "stdio" and args.command in (None, "serve"):
            http = http_settings_from_env(
                host=args.host,
                port=args.port,
                allowed_hosts=args.allowed_hosts,
                allowed_origins=args.allowed_origins,
                stateless=args.stateless or None,
            )
        settings = _settings(args)
        from .server import build_server  # importing mcp is most of start-up: only once config is sound

        keys = [key.get_secret_value() for key in http.state_keys] if http else []
        server = build_server(settings, state_keys=keys)
    except ConfigError as exc:
        print(f"brex-mcp: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "tools":
        return _print_tools(server)
    if args.command == "call":
        return _call(server, args.tool, args.arguments)
    if http is None:
        server.run("stdio")
    else:
        from .transports import serve_http

        serve_http(server, args.transport, http)
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import anyio

    from .doctor import diagnose, render

    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"[FAIL] configuration: {exc}")
        return EXIT_TOOL_ERROR
    checks = anyio.run(diagnose, settings)
    print(render(checks))
    return EXIT_TOOL_ERROR if any(check.status == "fail" for check in checks) else 0


def _print_tools(server: Any) -> int:
    import anyio

    tools = anyio.run(server.list_tools)
    for tool in tools:
        hints = tool.annotations
        kind = "read-only" if hints and hints.read_only_hint else "writes"
        if hints and hints.destructive_hint:
            kind += ", destructive"
        print(f"{tool.name:<18} {tool.title or ''}  [{kind}]")
    return 0


def _call(server: Any, tool: str, raw_arguments: str) -> int:
    try:
        arguments = json.loads(raw_arguments)
    except json.JSONDecodeError as exc:
        print(f"brex-mcp: arguments are not valid JSON: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not isinstance(arguments, dict):
        print("brex-mcp: arguments must be a JSON object, e.g. '{\"limit\": 5}'", file=sys.stderr)
        return EXIT_CONFIG

    import anyio
    from mcp import Client

    async def run() -> Any:
        callback = _ask_on_terminal if sys.stdin.isatty() else None
        async with Client(server, elicitation_callback=callback) as client:
            return await client.call_tool(tool, arguments)

    result = anyio.run(run)
    if result.structured_content is not None and not result.is_error:
        print(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    else:
        for block in result.content:
            print(getattr(block, "text", block), file=sys.stderr if result.is_error else sys.stdout)
    return EXIT_TOOL_ERROR if result.is_error else 0


async def _ask_on_terminal(_context: Any, params: Any) -> Any:
    """The person at the terminal answers the server's confirmation question."""
    import anyio
    from mcp.types import ElicitResult

    print(f"{params.message} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = (await anyio.to_thread.run_sync(sys.stdin.readline)).strip().lower()
    if answer in ("y", "yes"):
        return ElicitResult(action="accept", content={"confirm": True})
    return ElicitResult(action="decline")
