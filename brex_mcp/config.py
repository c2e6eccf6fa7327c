"""Configuration: environment variables, CLI overrides, and the checks made before anything starts."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_TRUTO_BASE_URL = "https://api.truto.one"
DEFAULT_BREX_BASE_URL = "https://api.brex.com"
DIRECT_ACCOUNT = "brex-direct"  # how audit lines name the one Brex account a direct token reaches
Backend = Literal["truto", "brex"]
Transport = Literal["stdio", "sse", "streamable-http"]

ENV_TOKEN = "TRUTO_API_TOKEN"
ENV_ACCOUNT = "TRUTO_INTEGRATED_ACCOUNT_ID"
ENV_BASE_URL = "TRUTO_BASE_URL"
ENV_READ_ONLY = "BREX_MCP_READ_ONLY"
ENV_BREX_TOKEN = "BREX_API_TOKEN"
ENV_BREX_BASE_URL = "BREX_BASE_URL"
ENV_BACKEND = "BREX_MCP_BACKEND"
ENV_TOOLS = "BREX_MCP_TOOLS"
ENV_EXCLUDE_TOOLS = "BREX_MCP_EXCLUDE_TOOLS"
ENV_CONFIRM_WRITES = "BREX_MCP_CONFIRM_WRITES"
ENV_AUDIT_LOG = "BREX_MCP_AUDIT_LOG"
ENV_ALLOW_UNKNOWN = "BREX_MCP_ALLOW_UNKNOWN_ENDPOINTS"
ENV_HTTP_TOKEN = "BREX_MCP_HTTP_TOKEN"
ENV_ALLOWED_HOSTS = "BREX_MCP_ALLOWED_HOSTS"
ENV_ALLOWED_ORIGINS = "BREX_MCP_ALLOWED_ORIGINS"
ENV_ALLOWED_ACCOUNTS = "BREX_MCP_ALLOWED_ACCOUNTS"
ENV_STATELESS = "BREX_MCP_STATELESS"
ENV_STATE_KEYS = "BREX_MCP_STATE_KEYS"
ACCOUNT_HEADER = "x-truto-integrated-account-id"
ENV_MAX_RESULT_BYTES = "BREX_MCP_MAX_RESULT_BYTES"
ENV_TIME_BUDGET = "BREX_MCP_TIME_BUDGET_SECONDS"
ENV_RATE_LIMIT = "BREX_MCP_RATE_LIMIT"
HARD_RESULT_LIMIT = 1024 * 1024  # clients drop single messages over 1 MiB (SSE event caps)

ConfirmWrites = Literal["auto", "always", "never"]


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

    # Which upstream: Truto (token + integrated account) or Brex directly (a Brex token).
    backend: Backend = "truto"
    truto_api_token: SecretStr | None = None
    brex_api_token: SecretStr | None = None
    brex_base_url: str = DEFAULT_BREX_BASE_URL
    # The account for calls that do not choose one; may be empty in hosted mode, where each call must.
    integrated_account_id: str = ""
    # Hosted mode: HTTP calls choose their account with the X-Truto-Integrated-Account-Id header, from this list.
    allowed_accounts: frozenset[str] | None = None
    truto_base_url: str = DEFAULT_TRUTO_BASE_URL
    read_only: bool = False
    # Tool selection: read_only wins over everything, then exclude_tools over tools.
    tools: frozenset[str] | None = None
    exclude_tools: frozenset[str] = frozenset()
    confirm_writes: ConfirmWrites = "auto"
    audit_log: Path = Field(default_factory=lambda: default_audit_log(os.environ))
    allow_unknown_endpoints: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retry: RetryPolicy = RetryPolicy()
    max_pages_per_call: int = Field(default=20, ge=1)
    # What one tool result may cost the model, and how long one call may take before it returns what it
    # has with a cursor (desktop clients give up at 60 s).
    max_result_bytes: int = Field(default=16 * 1024, ge=2048, le=HARD_RESULT_LIMIT // 2)
    time_budget_seconds: float = Field(default=25.0, gt=0, le=55)
    # Client-side token bucket per integrated account (Truto allows 50 requests / 10 s); 0 requests = off.
    rate_limit_requests: int = Field(default=50, ge=0)
    rate_limit_seconds: float = Field(default=10.0, gt=0)

    @property
    def upstream_token(self) -> SecretStr:
        token = self.brex_api_token if self.backend == "brex" else self.truto_api_token
        assert token is not None  # the validator guarantees it
        return token

    @property
    def upstream_url(self) -> str:
        return self.brex_base_url if self.backend == "brex" else self.truto_base_url

    @model_validator(mode="after")
    def _credentials_and_an_account_for_every_call(self) -> Settings:
        if self.backend == "brex":
            if self.brex_api_token is None:
                raise ValueError(f"{ENV_BREX_TOKEN} is not set")
            if self.allowed_accounts:
                raise ValueError(f"{ENV_ALLOWED_ACCOUNTS} needs the Truto backend: a Brex token reaches one account")
            return self
        if self.truto_api_token is None:
            raise ValueError(f"{ENV_TOKEN} is not set")
        account, allowed = self.integrated_account_id, self.allowed_accounts
        if not account and not allowed:
            raise ValueError(
                f"{ENV_ACCOUNT} is not set (or list the accounts calls may choose: {ENV_ALLOWED_ACCOUNTS})"
            )
        if allowed and account and account not in allowed:
            raise ValueError(f"{ENV_ACCOUNT} must be one of {ENV_ALLOWED_ACCOUNTS} in hosted mode")
        return self

    @field_validator("truto_base_url", "brex_base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str, info: Any) -> str:
        name = ENV_BASE_URL if info.field_name == "truto_base_url" else ENV_BREX_BASE_URL
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(f"{name} must use https unless it points at loopback, got {value!r}")
        if parts.path or parts.query or parts.fragment:
            raise ValueError(f"{name} must be a bare origin like https://api.truto.one, got {value!r}")
        return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A switch that guards safety must not read a typo as 'off': unknown words are an error."""
    value = env.get(name, "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, got {env.get(name)!r}")


def name_list(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def default_audit_log(env: Mapping[str, str]) -> Path:
    """Per user, in the XDG state directory: survives restarts, not world-readable."""
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "brex-mcp" / "audit.jsonl"


def settings_from_env(
    env: Mapping[str, str] | None = None,
    *,
    credentials: tuple[str, str, str] | None = None,
    brex_credentials: tuple[str, str] | None = None,
    **cli: Any,
) -> Settings:
    """Build settings from the environment with CLI values (not None) winning; raise ConfigError on a problem.

    `credentials` = (token, integrated account id, base URL) replaces the environment's Truto
    credentials and `brex_credentials` = (Brex token, base URL) its Brex ones; the sandbox uses them.
    """
    env = os.environ if env is None else env
    cli = {key: value for key, value in cli.items() if value is not None}
    backend = _backend(env, sandbox=credentials is not None)
    if backend == "brex":
        return _direct_settings(env, cli, brex_credentials)
    if credentials is not None:
        token, account, base_url = credentials
    else:
        token = env.get(ENV_TOKEN, "").strip()
        account = (cli.get("integrated_account_id") or env.get(ENV_ACCOUNT, "")).strip()
        base_url = cli.get("truto_base_url") or env.get(ENV_BASE_URL) or DEFAULT_TRUTO_BASE_URL
        hosted = bool(name_list(cli.get("allowed_accounts") or env.get(ENV_ALLOWED_ACCOUNTS)))
        required = ((ENV_TOKEN, token),) if hosted else ((ENV_TOKEN, token), (ENV_ACCOUNT, account))
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. "
                "Set TRUTO_API_TOKEN to your Truto API token and TRUTO_INTEGRATED_ACCOUNT_ID to the integrated "
                "account id of the connected Brex account, "
                "or run `brex-mcp --sandbox` to try the server against the built-in sandbox with no credentials."
            )
    shared = _policy(env, cli)
    try:
        return Settings(
            truto_api_token=SecretStr(token),
            integrated_account_id=account,
            truto_base_url=base_url,
            allowed_accounts=name_list(cli.get("allowed_accounts") or env.get(ENV_ALLOWED_ACCOUNTS)),
            **shared,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(_first_error(exc)) from None


def _policy(env: Mapping[str, str], cli: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that are the same whichever backend serves: tool selection, writes, audit."""
    confirm = cli.get("confirm_writes") or env.get(ENV_CONFIRM_WRITES, "auto").strip().lower() or "auto"
    if confirm not in ("auto", "always", "never"):
        raise ConfigError(f"{ENV_CONFIRM_WRITES} must be auto, always or never, got {confirm!r}")
    audit = cli.get("audit_log") or env.get(ENV_AUDIT_LOG)
    tools = name_list(cli.get("tools")) if "tools" in cli else name_list(env.get(ENV_TOOLS))
    excluded = name_list(cli.get("exclude_tools")) if "exclude_tools" in cli else name_list(env.get(ENV_EXCLUDE_TOOLS))
    budgets: dict[str, Any] = {}
    for name, key, kind, low, high in (
        (ENV_MAX_RESULT_BYTES, "max_result_bytes", int, 2048, HARD_RESULT_LIMIT // 2),
        (ENV_TIME_BUDGET, "time_budget_seconds", float, 1, 55),
    ):
        raw = env.get(name, "").strip()
        if raw:
            try:
                budgets[key] = kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {raw!r}") from None
            if not low <= budgets[key] <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, got {raw}")
    rate = rate_limit_fields(cli.get("rate_limit") or env.get(ENV_RATE_LIMIT))
    return (
        budgets
        | rate
        | {
            "read_only": bool(cli.get("read_only")) or env_flag(env, ENV_READ_ONLY),
            "tools": tools,
            "exclude_tools": excluded or frozenset(),
            "confirm_writes": confirm,
            "audit_log": Path(audit).expanduser() if audit else default_audit_log(env),
            "allow_unknown_endpoints": bool(cli.get("allow_unknown_endpoints")) or env_flag(env, ENV_ALLOW_UNKNOWN),
        }
    )


def _backend(env: Mapping[str, str], *, sandbox: bool) -> Backend:
    """Chosen by which credentials are set; with both, BREX_MCP_BACKEND must say which, never a guess."""
    chosen = env.get(ENV_BACKEND, "").strip().lower()
    if chosen not in ("", "truto", "brex"):
        raise ConfigError(f"{ENV_BACKEND} must be truto or brex, got {chosen!r}")
    if sandbox or chosen:
        return chosen or "truto"  # type: ignore[return-value]
    has_truto, has_brex = bool(env.get(ENV_TOKEN, "").strip()), bool(env.get(ENV_BREX_TOKEN, "").strip())
    if has_truto and has_brex:
        raise ConfigError(
            f"Both {ENV_TOKEN} and {ENV_BREX_TOKEN} are set; set {ENV_BACKEND}=truto or {ENV_BACKEND}=brex to say "
            "which this server should use."
        )
    return "brex" if has_brex else "truto"


def _direct_settings(env: Mapping[str, str], cli: Mapping[str, Any], given: tuple[str, str] | None) -> Settings:
    token, base_url = given or (env.get(ENV_BREX_TOKEN, "").strip(), env.get(ENV_BREX_BASE_URL) or "")
    if not token:
        raise ConfigError(f"{ENV_BREX_TOKEN} is not set ({ENV_BACKEND}=brex needs a Brex API token).")
    shared = _policy(env, cli)
    if name_list(cli.get("allowed_accounts") or env.get(ENV_ALLOWED_ACCOUNTS)):
        raise ConfigError(f"{ENV_ALLOWED_ACCOUNTS} needs the Truto backend: a Brex token reaches one account")
    shared.setdefault("rate_limit_requests", 1000)  # Brex's own limit: 1,000 requests per 60 s
    shared.setdefault("rate_limit_seconds", 60.0)
    try:
        return Settings(
            backend="brex",
            brex_api_token=SecretStr(token),
            brex_base_url=base_url or DEFAULT_BREX_BASE_URL,
            integrated_account_id=DIRECT_ACCOUNT,
            **shared,
        )
    except ValueError as exc:
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


class HttpSettings(BaseModel):
    """How the HTTP transports listen and whom they let in."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    token: SecretStr | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    # Replicas behind a load balancer: no sticky sessions, and one secret ring to seal request state.
    stateless: bool = False
    state_keys: tuple[SecretStr, ...] = ()

    @property
    def loopback(self) -> bool:
        return _is_loopback(self.host)


def http_settings_from_env(
    env: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    allowed_hosts: str | None = None,
    allowed_origins: str | None = None,
    stateless: bool | None = None,
) -> HttpSettings:
    """Refuse, before binding, any setup that would expose the server without a token and a host list."""
    env = os.environ if env is None else env
    token = env.get(ENV_HTTP_TOKEN, "").strip()
    hosts = name_list(allowed_hosts if allowed_hosts is not None else env.get(ENV_ALLOWED_HOSTS)) or frozenset()
    origins = name_list(allowed_origins if allowed_origins is not None else env.get(ENV_ALLOWED_ORIGINS)) or frozenset()
    keys = tuple(SecretStr(k.strip()) for k in env.get(ENV_STATE_KEYS, "").split(",") if k.strip())
    settings = HttpSettings(
        host=host,
        port=port,
        token=SecretStr(token) if token else None,
        allowed_hosts=tuple(sorted(hosts)),
        allowed_origins=tuple(sorted(origins)),
        stateless=bool(stateless) or env_flag(env, ENV_STATELESS),
        state_keys=keys,
    )
    if any(len(k.get_secret_value()) < 32 for k in keys):
        raise ConfigError(f"each key in {ENV_STATE_KEYS} must be at least 32 characters of random data")
    if settings.stateless and not keys:
        raise ConfigError(
            f"--stateless serves replicas behind a load balancer; set {ENV_STATE_KEYS} to the same secret "
            "(32+ random characters) on every replica so a confirmation asked by one can be answered at another."
        )
    if not settings.loopback:
        if settings.token is None:
            raise ConfigError(
                f"Binding to {host} would let anyone on the network use this server. Set {ENV_HTTP_TOKEN} to a long "
                "random secret that clients send as 'Authorization: Bearer <secret>', or bind to 127.0.0.1."
            )
        if not settings.allowed_hosts:
            raise ConfigError(
                f"Binding to {host} needs the host names clients use to reach it, for DNS-rebinding protection: "
                f"--allowed-hosts mcp.example.com (or {ENV_ALLOWED_HOSTS})."
            )
    if settings.token is not None and len(token) < 16:
        raise ConfigError(f"{ENV_HTTP_TOKEN} is too short; use at least 16 random characters.")
    return settings
