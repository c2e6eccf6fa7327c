"""`brex-mcp doctor`: is this configuration going to work, and if not, what exactly to do about it.

One cheap call per check, nothing written, and no secret ever printed (the token is shown only as
"set, N characters").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .brex_direct import BrexDirectClient, client_for
from .config import Settings
from .errors import AuthenticationFailed, NetworkError, NotFound, PermissionDenied, UpstreamError
from .truto import TrutoClient

Status = Literal["ok", "warn", "fail"]
# Cheap reads that show which Brex scopes the connection has; writes cannot be probed without writing.
SCOPE_PROBES = (
    ("users.readonly", "/v2/users/me", {}, "list_users, get_user"),
    ("cards.readonly", "/v2/cards", {"limit": 1}, "freeze_card reads the card first"),
    ("transactions.card.readonly", "/v2/transactions/card/primary", {"limit": 1}, "list_transactions"),
    ("departments.readonly", "/v2/departments", {"limit": 1}, "department names"),
)


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    next_steps: list[str] = field(default_factory=list)


async def diagnose(settings: Settings) -> list[Check]:
    """Run every check in order, for each account served; stop early when Truto cannot be reached at all."""
    checks = [_configuration(settings)]
    if settings.backend == "brex":
        client = client_for(settings)
        try:
            return checks + [await _probe(client, *probe) for probe in SCOPE_PROBES]
        finally:
            await client.aclose()
    accounts = sorted(settings.allowed_accounts or {settings.integrated_account_id})
    for account_id in accounts:
        account_settings = settings.model_copy(update={"integrated_account_id": account_id})
        truto = client_for(account_settings)
        try:
            found = await _account(truto, account_settings)
            account_checks = [found]
            if found.status == "fail" and found.name == "truto":
                return checks + account_checks
            account_checks.append(await _capabilities(truto, account_settings))
            account_checks += [await _probe(truto, *probe) for probe in SCOPE_PROBES]
        finally:
            await truto.aclose()
        if len(accounts) > 1:
            for check in account_checks:
                check.name = f"{account_id}: {check.name}"
        checks += account_checks
    return checks


def _configuration(settings: Settings) -> Check:
    token = settings.upstream_token.get_secret_value()
    if settings.backend == "brex":
        lines = [
            f"direct Brex backend: BREX_API_TOKEN set, {len(token)} characters",
            f"Brex at {settings.brex_base_url}",
        ]
        return Check("configuration", "ok", "; ".join(lines + _policy_lines(settings)))
    lines = [
        f"TRUTO_API_TOKEN set, {len(token)} characters",
        f"integrated account {settings.integrated_account_id}"
        if not settings.allowed_accounts
        else f"hosted for {len(settings.allowed_accounts)} accounts",
        f"Truto at {settings.truto_base_url}",
    ]
    return Check("configuration", "ok", "; ".join(lines + _policy_lines(settings)))


def _policy_lines(settings: Settings) -> list[str]:
    return [
        "read-only" if settings.read_only else "writes enabled",
        f"write confirmation {settings.confirm_writes}",
        f"audit log {settings.audit_log}",
    ]


async def _account(truto: TrutoClient, settings: Settings) -> Check:
    account_id = settings.integrated_account_id
    try:
        response = await truto.request("GET", f"/integrated-account/{account_id}", account_query=False)
    except AuthenticationFailed:
        return Check(
            "truto",
            "fail",
            "Truto rejected the API token (401).",
            [
                "Create an API token in the Truto dashboard for the environment that holds this account, and set "
                "TRUTO_API_TOKEN to it.",
            ],
        )
    except NotFound:
        return Check(
            "account",
            "fail",
            f"Truto has no integrated account {account_id} for this token (404).",
            [
                "Check TRUTO_INTEGRATED_ACCOUNT_ID; the token only sees accounts in its own environment.",
            ],
        )
    except NetworkError as exc:
        return Check(
            "truto",
            "fail",
            f"Truto could not be reached at {settings.truto_base_url}: {exc.message}.",
            [
                "Check TRUTO_BASE_URL and the network (a proxy or firewall may block it).",
            ],
        )
    except UpstreamError as exc:
        return Check("truto", "fail", exc.describe())
    data = response.data if isinstance(response.data, dict) else {}
    status = str(data.get("status") or "unknown")
    if status == "needs_reauth":
        return Check(
            "account",
            "fail",
            "The Brex connection needs re-authentication (status needs_reauth).",
            [
                "Ask the account owner to reconnect Brex through your Truto link flow; every call fails until then.",
            ],
        )
    if status != "active":
        return Check(
            "account",
            "warn",
            f"The integrated account's status is {status}, not active.",
            [
                "Finish connecting the account in Truto, or see its post-install and validation errors there.",
            ],
        )
    return Check("account", "ok", f"integrated account {account_id} is active")


async def _capabilities(truto: TrutoClient, settings: Settings) -> Check:
    path = f"/integrated-account/{settings.integrated_account_id}/capabilities"
    try:
        response = await truto.request("GET", path, params={"type": "proxy"}, account_query=False)
    except UpstreamError as exc:
        return Check("capabilities", "warn", f"Truto's capabilities could not be read: {exc.message}.")
    entries = response.data.get("proxy") if isinstance(response.data, dict) else None
    if not isinstance(entries, list):
        return Check("capabilities", "warn", "Truto's capabilities answer had no proxy list.")
    parts = []
    for entry in entries:
        methods = [str(m.get("method")) for m in entry.get("methods", []) if isinstance(m, dict)]
        parts.append(f"{entry.get('resource')} ({', '.join(methods)})")
    return Check("capabilities", "ok", "Truto offers " + "; ".join(parts))


async def _probe(truto: TrutoClient, scope: str, path: str, params: dict[str, int], used_by: str) -> Check:
    name = f"scope {scope}"
    try:
        await truto.custom("GET", path, params=params)
    except PermissionDenied:
        return Check(
            name,
            "fail",
            f"Brex refused GET {path} (403): the connection lacks {scope}.",
            [
                f"Reconnect Brex with the {scope} scope (needed by {used_by}).",
            ],
        )
    except AuthenticationFailed as exc:
        if isinstance(truto, BrexDirectClient):
            steps = ["Create a new Brex API token (Brex dashboard, Developer > Settings) and set BREX_API_TOKEN."]
        elif exc.remote:
            steps = ["Ask the account owner to reconnect Brex through your Truto link flow."]
        else:
            steps = []
        return Check(name, "fail", exc.describe(), steps)
    except UpstreamError as exc:
        return Check(name, "warn", exc.describe())
    return Check(name, "ok", f"GET {path} works ({used_by})")


def render(checks: list[Check]) -> str:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for check in checks:
        lines.append(f"[{marks[check.status]}] {check.name}: {check.detail}")
        lines += [f"       next: {step}" for step in check.next_steps]
    failed = sum(c.status == "fail" for c in checks)
    lines.append("All checks passed." if not failed else f"{failed} check(s) failed.")
    return "\n".join(lines)
