"""The baseline: a bare mcp MCPServer with one trivial tool (`echo`), or with `raw_list_users`, the same
raw httpx GET our list_users makes, returning Brex's/Truto's JSON as is.

    python benchmarks/bare_server.py                       # stdio, echo only (cold-start baseline)
    python benchmarks/bare_server.py --http PORT           # streamable HTTP, raw_list_users against its own sandbox
"""

from __future__ import annotations

import sys
from typing import Any

from mcp.server import MCPServer


def build(base_url: str = "", token: str = "", account: str = "") -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("bare")

    @server.tool()
    def echo(text: str) -> str:
        return text

    if base_url:
        import httpx

        http = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"})

        @server.tool()
        async def raw_list_users(limit: int = 25) -> dict[str, Any]:
            response = await http.get(
                "/unified/user-directory/users", params={"limit": limit, "integrated_account_id": account}
            )
            response.raise_for_status()
            return response.json()

    return server


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        from brex_mcp.sandbox import Sandbox

        sandbox = Sandbox()
        build(sandbox.start(), sandbox.token, sandbox.account_id).run(
            "streamable-http", host="127.0.0.1", port=int(sys.argv[2])
        )
    else:
        build().run("stdio")
