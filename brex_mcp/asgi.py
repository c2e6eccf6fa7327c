"""An ASGI app built from the environment, for process managers: `uvicorn brex_mcp.asgi:app --workers 4`.

Each worker builds its own server from the same environment. Run them stateless with shared
BREX_MCP_STATE_KEYS so any worker (or replica) can take any request.
"""

from __future__ import annotations

import os

from .config import http_settings_from_env, settings_from_env
from .logs import configure
from .server import build_server
from .transports import build_http_app

configure(os.environ.get("BREX_MCP_LOG_LEVEL", "WARNING").upper())
_http = http_settings_from_env(host=os.environ.get("BREX_MCP_HOST", "127.0.0.1"))
app = build_http_app(
    build_server(settings_from_env(), state_keys=[key.get_secret_value() for key in _http.state_keys]),
    os.environ.get("BREX_MCP_TRANSPORT", "streamable-http"),
    _http,
)
