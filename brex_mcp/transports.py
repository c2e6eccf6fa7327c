"""HTTP transports with the protections the SDK leaves to us: host/origin checks everywhere, bearer auth, health.

The SDK enables DNS-rebinding protection only when bound to loopback; here it is always on, with an
explicit host list elsewhere. A bearer token (compared in constant time) guards every MCP route;
/health answers without it and says nothing about the account.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import __version__
from .config import HttpSettings

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def transport_security(http: HttpSettings) -> TransportSecuritySettings:
    hosts: list[str] = []
    for host in http.allowed_hosts:
        has_port = host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]")
        hosts += [host] if has_port else [host, f"{host}:*"]  # Host arrives with or without a port
    if http.loopback:
        hosts += LOOPBACK_HOSTS
    origins = list(http.allowed_origins) + (LOOPBACK_ORIGINS if http.loopback else [])
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class BearerAuth:
    """Pure ASGI middleware: lifespan and /health pass; every other HTTP request needs the token."""

    def __init__(self, app: Any, token: str, open_paths: frozenset[str] = frozenset({"/health"})) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._open = open_paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized", "message": "send Authorization: Bearer <BREX_MCP_HTTP_TOKEN>"})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="brex-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


def build_http_app(server: MCPServer[Any], transport: str, http: HttpSettings) -> Any:
    @server.custom_route("/health", methods=["GET"])
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": "brex-mcp", "version": __version__})

    security = transport_security(http)
    if transport == "sse":
        app = server.sse_app(max_request_body_size=http.max_body_bytes, transport_security=security, host=http.host)
    else:
        app = server.streamable_http_app(
            max_request_body_size=http.max_body_bytes,
            transport_security=security,
            host=http.host,
            stateless_http=http.stateless,
        )
    if http.token is not None:
        return BearerAuth(app, http.token.get_secret_value())
    return app


def serve_http(server: MCPServer[Any], transport: str, http: HttpSettings) -> None:
    import sys

    import uvicorn

    path = "/sse" if transport == "sse" else "/mcp"
    host = f"[{http.host}]" if ":" in http.host else http.host
    print(f"brex-mcp: serving MCP ({transport}) on http://{host}:{http.port}{path}", file=sys.stderr)

    config = uvicorn.Config(
        build_http_app(server, transport, http), host=http.host, port=http.port, log_level="warning"
    )
    uvicorn.Server(config).run()
