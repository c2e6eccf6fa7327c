"""Fault spec strings (the CLI's --sandbox-faults) and the sandbox's own rate limit."""

from __future__ import annotations

import httpx
import pytest

from brex_mcp.sandbox import Sandbox
from brex_mcp.sandbox.faults import parse_spec
from tests.test_cli import run

USERS = "/unified/user-directory/users"


def test_a_spec_reads_statuses_kinds_and_options():
    assert parse_spec("429,retry_after=2,times=3; reset,path=/custom,method=post;403,remote=1,scopes=a+b") == [
        {"path_prefix": "/", "status": 429, "retry_after": 2.0, "times": 3},
        {"path_prefix": "/custom", "kind": "reset", "method": "POST"},
        {"path_prefix": "/", "status": 403, "remote": True, "missing_scopes": ("a", "b")},
    ]


def test_a_spec_reads_http_date_retry_after_and_unlimited_times():
    assert parse_spec("429,retry_after_date=5,times=always") == [
        {"path_prefix": "/", "status": 429, "retry_after": 5.0, "retry_after_format": "date", "times": None}
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus", "'bogus' is neither an HTTP status nor one of"),
        ("429,times", "option 'times' must be key=value"),
        ("429,times=x", "times='x' is not a valid value"),
        ("429,colour=red", "unknown option 'colour'"),
        ("delay", "a delay fault needs seconds > 0"),
        ("429,path=nope", "path_prefix must start with '/'"),
        (" ; ", "the fault spec is empty"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_problem(spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_spec(spec)


def test_a_sandbox_arms_the_faults_of_its_spec():
    with Sandbox(faults=f"503,path={USERS},times=2") as sb:
        statuses = [httpx.get(sb.url + USERS, params={"integrated_account_id": sb.account_id}).status_code]
        statuses += [httpx.get(sb.url + USERS, params={"integrated_account_id": sb.account_id}).status_code]
        assert statuses == [503, 503]
        assert sb.faults.pending == []


def test_the_sandbox_rate_limit_answers_429_with_retry_after_in_whole_seconds():
    with Sandbox(rate_limit=(2, 10.0)) as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        params = {"integrated_account_id": sb.account_id, "limit": 1}
        answers = [httpx.get(sb.url + USERS, params=params, headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["retry-after"] == "5"
        assert sb.rate_limited == 1


def test_the_cli_serves_a_sandbox_with_the_faults_given():
    done = run("--sandbox", "--sandbox-faults", f"401,remote=1,path={USERS}", "call", "list_users", "{}")
    assert done.returncode == 1
    assert '"error":"authentication_failed"' in done.stderr and "reconnect Brex in Truto" in done.stderr


def test_the_cli_refuses_a_bad_fault_spec_before_starting():
    done = run("--sandbox", "--sandbox-faults", "teapot", "tools")
    assert done.returncode == 2
    assert "--sandbox-faults: fault 'teapot'" in done.stderr


def test_the_cli_refuses_sandbox_faults_without_the_sandbox():
    done = run("--sandbox-faults", "500", "tools")
    assert (done.returncode, done.stderr.strip()) == (2, "brex-mcp: --sandbox-faults works only with --sandbox")


def test_the_cli_refuses_a_malformed_rate_limit():
    done = run("--sandbox", "--rate-limit", "fast", "tools")
    assert done.returncode == 2
    assert "--rate-limit must look like 50/10" in done.stderr


def test_the_sandbox_keeps_only_its_latest_requests_but_counts_them_all():
    with Sandbox(max_records=3) as sb:
        for limit in range(1, 6):
            httpx.get(sb.url + USERS, params={"integrated_account_id": sb.account_id, "limit": limit})
        assert [r.query["limit"] for r in sb.requests] == [["3"], ["4"], ["5"]]
        assert sb.received == 5
