"""Configuration: environment variables, CLI overrides, and the checks made before anything starts."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_TRUTO_BASE_URL = "https://api.truto.one"
Transport = Literal["stdio", "sse", "streamable-http"]

ENV_TOKEN = "TRUTO_API_TOKEN"
ENV_ACCOUNT = "TRUTO_INTEGRATED_ACCOUNT_ID"
ENV_BASE_URL = "TRUTO_BASE_URL"
ENV_READ_ONLY = "BREX_MCP_READ_ONLY"
ENV_RATE_LIMIT = "BREX_MCP_RATE_LIMIT"


class ConfigError(ValueError):
    """A configuration problem a person must fix; the message says how."""


class RetryPolicy(BaseModel):
    """Bounds on retries so a flaky upstream never holds a tool call past what a client waits for."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=4, ge=1, le=10)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=8.0, ge=0)
    max_total_seconds: float = Field(default=20.0, ge=0)


class Settings(BaseModel):
    """Everything the server needs; the token is a SecretStr so no repr or log can show it."""

    model_config = ConfigDict(frozen=True)

    truto_api_token: SecretStr
    integrated_account_id: str = Field(min_length=1)
    truto_base_url: str = DEFAULT_TRUTO_BASE_URL
    read_only: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retry: RetryPolicy = RetryPolicy()
    max_pages_per_call: int = Field(default=20, ge=1)
    # Client-side token bucket per integrated account (Truto allows 50 requests / 10 s); 0 requests = off.
    rate_limit_requests: int = Field(default=50, ge=0)
    rate_limit_seconds: float = Field(default=10.0, gt=0)

    @field_validator("truto_base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{ENV_BASE_URL} must be an http(s) URL, got {value!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(f"{ENV_BASE_URL} must use https unless it points at loopback, got {value!r}")
        if parts.path or parts.query or parts.fragment:
            raise ValueError(f"{ENV_BASE_URL} must be a bare origin like https://api.truto.one, got {value!r}")
        return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_env(
    env: Mapping[str, str] | None = None,
    *,
    integrated_account_id: str | None = None,
    truto_base_url: str | None = None,
    read_only: bool | None = None,
    rate_limit: str | None = None,
) -> Settings:
    """Build settings from the environment, with CLI values winning; raise ConfigError naming what is missing."""
    env = os.environ if env is None else env
    token = env.get(ENV_TOKEN, "").strip()
    account = (integrated_account_id or env.get(ENV_ACCOUNT, "")).strip()
    missing = [name for name, value in ((ENV_TOKEN, token), (ENV_ACCOUNT, account)) if not value]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. "
            "Set them to your Truto API token and the integrated account id of the connected Brex account, "
            "or run `brex-mcp --sandbox` to try the server against the built-in sandbox with no credentials."
        )
    try:
        limit = rate_limit_fields(rate_limit or env.get(ENV_RATE_LIMIT))
        return Settings(
            **limit,
            truto_api_token=SecretStr(token),
            integrated_account_id=account,
            truto_base_url=truto_base_url or env.get(ENV_BASE_URL) or DEFAULT_TRUTO_BASE_URL,
            read_only=env_flag(env, ENV_READ_ONLY) if read_only is None else read_only,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(_first_error(exc)) from None


def rate_limit_fields(text: str | None) -> dict[str, float]:
    """`50/10` = 50 requests per 10 seconds; `off` or `0` disables the limiter; None keeps the default."""
    if text is None or not text.strip():
        return {}
    value = text.strip().lower()
    if value in ("off", "0"):
        return {"rate_limit_requests": 0}
    requests, slash, seconds = value.partition("/")
    try:
        count, window = int(requests), float(seconds) if slash else 0.0
    except ValueError:
        count, window = 0, 0.0
    if count < 1 or not 0 < window < 86400:  # also refuses nan and inf
        raise ConfigError(
            f"{ENV_RATE_LIMIT} / --rate-limit must look like 50/10 (requests/seconds) or off, got {text!r}"
        )
    return {"rate_limit_requests": count, "rate_limit_seconds": window}


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
