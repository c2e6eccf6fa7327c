"""HTTP transports: DNS-rebinding protection everywhere, bearer auth, a harmless health route, body limits."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from pydantic import SecretStr

from brex_mcp.config import ConfigError, HttpSettings, http_settings_from_env
from tests.processes import SERVER, clean_env, free_port, serving

TOKEN = "s3cret-http-token-0123456789"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def post(url: str, *, headers: dict | None = None, content: bytes | None = None) -> httpx.Response:
    kwargs = {"content": content} if content is not None else {"json": INITIALIZE}
    return httpx.post(f"{url}/mcp", headers={**MCP_HEADERS, **(headers or {})}, trust_env=False, timeout=10, **kwargs)


def test_a_plain_local_request_is_served(sandbox):
    with serving(sandbox, HttpSettings()) as url:
        assert post(url).status_code == 200


def test_a_spoofed_origin_is_refused_with_403(sandbox):
    with serving(sandbox, HttpSettings()) as url:
        assert post(url, headers={"Origin": "http://evil.example"}).status_code == 403


def test_a_foreign_host_header_is_refused_with_421(sandbox):
    with serving(sandbox, HttpSettings()) as url:
        assert post(url, headers={"Host": "evil.example"}).status_code == 421


def test_a_missing_bearer_token_is_refused_with_401(sandbox):
    with serving(sandbox, HttpSettings(token=SecretStr(TOKEN))) as url:
        response = post(url)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_bearer_token_is_refused_with_401(sandbox):
    with serving(sandbox, HttpSettings(token=SecretStr(TOKEN))) as url:
        assert post(url, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401


def test_the_right_bearer_token_is_served(sandbox):
    with serving(sandbox, HttpSettings(token=SecretStr(TOKEN))) as url:
        assert post(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_sse_needs_the_token_too(sandbox):
    with serving(sandbox, HttpSettings(token=SecretStr(TOKEN)), "sse") as url:
        assert httpx.get(f"{url}/sse", trust_env=False, timeout=5).status_code == 401


def test_health_answers_without_a_token_and_reveals_nothing(sandbox):
    with serving(sandbox, HttpSettings(token=SecretStr(TOKEN))) as url:
        response = httpx.get(f"{url}/health", trust_env=False, timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert sandbox.account_id not in response.text and TOKEN not in response.text and sandbox.token not in response.text


def test_an_oversized_body_is_refused_with_413(sandbox):
    with serving(sandbox, HttpSettings()) as url:
        assert post(url, content=b"[" + b" " * (2 * 1024 * 1024) + b"]").status_code == 413


def test_off_loopback_only_the_listed_host_names_are_served(sandbox):
    http = HttpSettings(host="0.0.0.0", token=SecretStr(TOKEN), allowed_hosts=("mcp.example.com",))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(sandbox, http) as url:
        assert post(url, headers=auth).status_code == 421  # Host: 127.0.0.1:port is not on the list
        assert post(url, headers={**auth, "Host": "mcp.example.com"}).status_code == 200
        assert post(url, headers={**auth, "Host": "mcp.example.com", "Origin": "http://localhost:1"}).status_code == 403


def test_binding_off_loopback_without_a_token_is_refused():
    with pytest.raises(ConfigError, match="BREX_MCP_HTTP_TOKEN"):
        http_settings_from_env({}, host="0.0.0.0")


def test_binding_off_loopback_without_allowed_hosts_is_refused():
    with pytest.raises(ConfigError, match="--allowed-hosts"):
        http_settings_from_env({"BREX_MCP_HTTP_TOKEN": TOKEN}, host="0.0.0.0")


def test_a_short_http_token_is_refused():
    with pytest.raises(ConfigError, match="too short"):
        http_settings_from_env({"BREX_MCP_HTTP_TOKEN": "short"})


def test_the_cli_refuses_to_start_off_loopback_without_a_token():
    done = subprocess.run(
        [*SERVER, "--sandbox", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "BREX_MCP_HTTP_TOKEN" in done.stderr
