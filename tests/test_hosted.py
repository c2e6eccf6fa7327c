"""Hosted mode: HTTP calls choose their integrated account by header, within the operator's list, and never cross."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from brex_mcp.config import HttpSettings
from brex_mcp.sandbox import Sandbox
from tests.processes import serving

pytestmark = pytest.mark.anyio
A, B = "sandbox-account", "acct-b"
HEADER = "X-Truto-Integrated-Account-Id"


@pytest.fixture
def two_companies():
    with Sandbox(seed=7, other_accounts={B: 11}) as sb:
        yield sb


@asynccontextmanager
async def session(url: str, account: str | None):
    headers = {HEADER: account} if account else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


def hosted(sb, **extra):
    return serving(sb, HttpSettings(), allowed_accounts=frozenset({A, B}), integrated_account_id="", **extra)


async def test_two_sessions_see_only_their_own_company_and_never_cross(two_companies):
    sb = two_companies
    ids_a = {u["id"] for u in sb.data_for(A).users}
    ids_b = {u["id"] for u in sb.data_for(B).users}
    assert not ids_a & ids_b
    with hosted(sb) as url:
        async with session(url, A) as a, session(url, B) as b:
            for _ in range(2):  # interleaved, so any shared cache or state would show
                seen_a = {u["id"] for u in (await a.call_tool("list_users", {"limit": 50})).structured_content["users"]}
                seen_b = {u["id"] for u in (await b.call_tool("list_users", {"limit": 50})).structured_content["users"]}
                assert seen_a <= ids_a and seen_b <= ids_b
            other = next(iter(ids_b))
            assert (await a.call_tool("get_user", {"user_id": other})).is_error  # B's user does not exist in A
    accounts = {r.query["integrated_account_id"][0] for r in sb.requests}
    assert accounts == {A, B}


async def test_audit_lines_carry_the_account_of_the_call(two_companies, tmp_path):
    sb = two_companies
    card_a = next(c for c in sb.data_for(A).cards if c["status"] == "ACTIVE")
    card_b = next(c for c in sb.data_for(B).cards if c["status"] == "ACTIVE")
    audit = tmp_path / "audit.jsonl"
    with hosted(sb, audit_log=audit) as url:
        async with session(url, A) as a, session(url, B) as b:
            await b.call_tool("freeze_card", {"card_id": card_b["id"], "reason": "FRAUD"})
            await a.call_tool("freeze_card", {"card_id": card_a["id"], "reason": "FRAUD"})
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["account"], e["arguments"]["card_id"], e["outcome"]) for e in entries] == [
        (B, card_b["id"], "success"),
        (A, card_a["id"], "success"),
    ]
    locks = {r.path.split("/")[4]: r.query["integrated_account_id"][0] for r in sb.requests if r.method == "POST"}
    assert locks == {card_a["id"]: A, card_b["id"]: B}


async def test_a_call_without_the_header_is_refused_naming_it(two_companies):
    with hosted(two_companies) as url:
        async with session(url, None) as client:
            result = await client.call_tool("list_users", {})
    assert result.is_error and HEADER.lower() in result.content[0].text
    assert two_companies.requests == []


async def test_an_account_outside_the_list_is_refused(two_companies):
    with hosted(two_companies) as url:
        async with session(url, "acct-c") as client:
            result = await client.call_tool("list_users", {})
    assert result.is_error and "not one this server may serve" in result.content[0].text
    assert two_companies.requests == []


async def test_a_single_account_server_refuses_the_header_rather_than_ignoring_it(two_companies):
    with serving(two_companies, HttpSettings()) as url:
        async with session(url, B) as client:
            result = await client.call_tool("list_users", {})
    assert result.is_error and "serves one account" in result.content[0].text
    assert two_companies.requests == []
