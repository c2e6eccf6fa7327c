"""Command line: serve MCP (stdio by default), list the tools, or call one tool through a real MCP client.

In stdio mode stdout is the protocol: everything this module says to people goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from . import __version__
from .config import ConfigError, Settings, env_flag, settings_from_env

log = logging.getLogger("brex_mcp")
EXIT_CONFIG = 2
EXIT_TOOL_ERROR = 1


def _parser() -> argparse.ArgumentParser:
    # Shared options are accepted before or after the command; SUPPRESS keeps the sub-parser from
    # overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--sandbox",
        action="store_true",
        default=argparse.SUPPRESS,
        help="serve against the built-in Truto/Brex sandbox; no credentials needed",
    )
    common.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="list only read-only tools and refuse writes (env BREX_MCP_READ_ONLY=1)",
    )
    common.add_argument(
        "--transport",
        choices=["stdio", "sse", "streamable-http"],
        default=argparse.SUPPRESS,
        help="how to serve MCP (default stdio)",
    )
    common.add_argument("--host", default=argparse.SUPPRESS, help="HTTP bind address (default 127.0.0.1)")
    common.add_argument("--port", type=int, default=argparse.SUPPRESS, help="HTTP port (default 8000)")
    common.add_argument(
        "--integrated-account-id",
        default=argparse.SUPPRESS,
        help="Truto integrated account id (env TRUTO_INTEGRATED_ACCOUNT_ID)",
    )
    common.add_argument(
        "--truto-base-url",
        default=argparse.SUPPRESS,
        help="Truto API origin (env TRUTO_BASE_URL, default https://api.truto.one)",
    )
    common.add_argument(
        "--rate-limit",
        default=argparse.SUPPRESS,
        help="client-side limit per account as REQUESTS/SECONDS, or off (env BREX_MCP_RATE_LIMIT, default 50/10)",
    )
    common.add_argument(
        "--sandbox-faults",
        default=argparse.SUPPRESS,
        metavar="SPEC",
        help="with --sandbox: inject faults, e.g. '429,retry_after=2,times=3;reset,path=/custom' (see README)",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level (default WARNING)",
    )

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
    "log_level": "WARNING",
    "command": None,
    "rate_limit": None,
    "sandbox_faults": None,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    for name, value in DEFAULTS.items():
        if not hasattr(args, name) or getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _settings(args: argparse.Namespace) -> Settings:
    import os

    read_only = True if args.read_only else None
    if args.sandbox_faults and not args.sandbox:
        raise ConfigError("--sandbox-faults works only with --sandbox")
    if args.sandbox:
        from .config import rate_limit_fields
        from .sandbox import Sandbox

        limit = rate_limit_fields(args.rate_limit or os.environ.get("BREX_MCP_RATE_LIMIT"))
        try:
            sandbox = Sandbox(faults=args.sandbox_faults)
        except ValueError as exc:
            raise ConfigError(f"--sandbox-faults: {exc}") from None
        url = sandbox.start()
        print(f"brex-mcp: sandbox mode, a simulated company served on {url} (no real Brex data)", file=sys.stderr)
        if args.sandbox_faults:
            print(f"brex-mcp: sandbox faults armed: {args.sandbox_faults}", file=sys.stderr)
        return Settings(
            **limit,
            truto_api_token=SecretStr(sandbox.token),
            integrated_account_id=sandbox.account_id,
            truto_base_url=url,
            read_only=read_only if read_only is not None else env_flag(os.environ, "BREX_MCP_READ_ONLY"),
        )
    return settings_from_env(
        integrated_account_id=args.integrated_account_id,
        truto_base_url=args.truto_base_url,
        read_only=read_only,
        rate_limit=args.rate_limit,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines carry ids; keep them out of logs
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"brex-mcp: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    from .server import build_server  # importing mcp is most of start-up: only once config is sound

    server = build_server(settings)
    if args.command == "tools":
        return _print_tools(server)
    if args.command == "call":
        return _call(server, args.tool, args.arguments)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run(args.transport, host=args.host, port=args.port)
    return 0


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
