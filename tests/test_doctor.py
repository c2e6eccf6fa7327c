"""`brex-mcp doctor` against the sandbox: healthy, and each way a setup can be broken."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import SecretStr

from brex_mcp.doctor import diagnose, render
from brex_mcp.sandbox import Sandbox
from tests.conftest import settings_for
from tests.processes import SERVER, clean_env, free_port

pytestmark = pytest.mark.anyio


def by_name(checks):
    return {check.name: check for check in checks}


async def test_a_healthy_sandbox_passes_every_check(sandbox):
    checks = await diagnose(settings_for(sandbox))
    assert [c.status for c in checks] == ["ok"] * len(checks) and len(checks) == 7
    assert render(checks).endswith("All checks passed.")


async def test_a_wrong_truto_token_says_to_create_one(sandbox):
    checks = by_name(await diagnose(settings_for(sandbox, truto_api_token=SecretStr("wrong-token"))))
    assert checks["truto"].status == "fail" and "TRUTO_API_TOKEN" in checks["truto"].next_steps[0]
    assert "account" not in checks  # nothing further can be checked


async def test_a_wrong_account_id_says_to_check_it(sandbox):
    checks = by_name(await diagnose(settings_for(sandbox, integrated_account_id="someone-else")))
    assert checks["account"].status == "fail" and "TRUTO_INTEGRATED_ACCOUNT_ID" in checks["account"].next_steps[0]


async def test_an_account_that_needs_reauthentication_says_to_reconnect(sandbox):
    sandbox.account_status = "needs_reauth"
    sandbox.faults.add("/custom/v2/", 401, times=None, remote=True)
    checks = by_name(await diagnose(settings_for(sandbox)))
    assert checks["account"].status == "fail" and "reconnect" in checks["account"].next_steps[0]
    assert checks["scope users.readonly"].status == "fail"
    assert "reconnect" in checks["scope users.readonly"].next_steps[0]


async def test_a_missing_scope_names_the_scope_and_what_needs_it(sandbox):
    sandbox.faults.add("/custom/v2/transactions", 403, times=None, remote=True)
    checks = by_name(await diagnose(settings_for(sandbox)))
    probe = checks["scope transactions.card.readonly"]
    assert probe.status == "fail" and "list_transactions" in probe.next_steps[0]
    assert checks["scope cards.readonly"].status == "ok"


async def test_an_unreachable_truto_says_to_check_the_base_url(sandbox):
    checks = by_name(await diagnose(settings_for(sandbox, truto_base_url=f"http://127.0.0.1:{free_port()}")))
    assert checks["truto"].status == "fail" and "TRUTO_BASE_URL" in checks["truto"].next_steps[0]


def test_doctor_never_prints_the_token_and_exits_1_on_a_failure():
    canary = "canary-doctor-token-0000000000000000"
    with Sandbox(token=canary) as sb:
        sb.faults.add("/custom/v2/cards", 403, times=None, remote=True)
        env = clean_env(TRUTO_API_TOKEN=canary, TRUTO_INTEGRATED_ACCOUNT_ID=sb.account_id, TRUTO_BASE_URL=sb.url)
        done = subprocess.run([*SERVER, "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "[FAIL] scope cards.readonly" in done.stdout
    assert canary not in done.stdout + done.stderr and f"set, {len(canary)} characters" in done.stdout


def test_doctor_without_credentials_names_them():
    done = subprocess.run([*SERVER, "doctor"], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout.startswith("[FAIL] configuration: TRUTO_API_TOKEN")


async def test_hosted_mode_checks_every_allowed_account_by_name():
    with Sandbox(other_accounts={"acct-b": 11}) as sb:
        sb.faults.add("/custom/v2/cards", 403, times=None, remote=True)
        settings = settings_for(sb, integrated_account_id="", allowed_accounts=frozenset({"sandbox-account", "acct-b"}))
        checks = by_name(await diagnose(settings))
    assert checks["acct-b: account"].status == "ok" and checks["sandbox-account: account"].status == "ok"
    assert checks["acct-b: scope cards.readonly"].status == "fail"
