"""spend_summary: totals checked against an independent computation over the sandbox's own rows."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mcp import Client

from brex_mcp.sandbox import Sandbox
from brex_mcp.server import build_server
from tests.conftest import settings_for
from tests.test_tools import call, error_text

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings):
    """One protocol era is enough for what this file checks; the era-specific paths (confirmation) are
    exercised with both eras explicitly, and tests/test_tools.py covers every tool in both."""
    async with Client(build_server(settings)) as c:
        yield c


SPEND = {"PURCHASE", "REFUND", "CHARGEBACK"}


def expected_totals(
    sb: Sandbox, start: str, end: str | None, key: Callable[[dict[str, Any]], str | None]
) -> dict[str, dict[str, list[int]]]:
    """currency -> group -> [amount, count], straight from the seeded rows."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in sb.data.transactions:
        if row["type"] not in SPEND or row["posted_at_date"] < start or (end and row["posted_at_date"] > end):
            continue
        group = key(row)
        if group is None:
            continue
        cell = out[row["amount"]["currency"]][group]
        cell[0] += row["amount"]["amount"]
        cell[1] += 1
    return out


def by_merchant(row: dict[str, Any]) -> str:
    return row["merchant"]["raw_descriptor"] if row["merchant"] else "(no merchant)"


def assert_matches(summary: dict[str, Any], expected: dict[str, dict[str, list[int]]], top_n: int) -> None:
    got = {c["currency"]: c for c in summary["currencies"]}
    assert set(got) == set(expected)
    for currency, groups in expected.items():
        entry = got[currency]
        assert entry["total"]["amount"] == sum(a for a, _ in groups.values())
        assert entry["total"]["currency"] == currency
        assert entry["count"] == sum(c for _, c in groups.values())
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
        assert [(g["key"], g["total"]["amount"], g["count"]) for g in entry["groups"]] == [
            (k, a, c) for k, (a, c) in ranked[:top_n]
        ]
        rest = ranked[top_n:]
        if rest:
            other = entry["other_groups"]
            assert (other["groups"], other["total"]["amount"], other["count"]) == (
                len(rest),
                sum(a for _, (a, _c) in rest),
                sum(c for _, (_a, c) in rest),
            )
        else:
            assert "other_groups" not in entry


async def test_merchant_totals_match_an_independent_sum_per_currency(client, sandbox):
    args = {"posted_at_start": "2026-04-01", "posted_at_end": "2026-06-30", "group_by": "merchant", "top_n": 5}
    out = (await call(client, "spend_summary", args)).structured_content
    assert_matches(out, expected_totals(sandbox, "2026-04-01", "2026-06-30", by_merchant), 5)
    assert out["coverage"]["complete"] is True and out["partial"] is False and "next_cursor" not in out
    assert {c["currency"] for c in out["currencies"]} >= {"USD", "JPY", "KWD"}


async def test_user_totals_follow_card_owners_and_carry_names(client, sandbox):
    owner = {c["id"]: c["owner"]["user_id"] for c in sandbox.data.cards}
    names = {u["id"]: f"{u['first_name']} {u['last_name']}" for u in sandbox.data.users}
    args = {"posted_at_start": "2026-01-01", "posted_at_end": "2026-01-31", "group_by": "user", "top_n": 8}
    out = (await call(client, "spend_summary", args)).structured_content
    assert_matches(out, expected_totals(sandbox, "2026-01-01", "2026-01-31", lambda r: owner[r["card_id"]]), 8)
    assert all(g["name"] == names[g["key"]] for c in out["currencies"] for g in c["groups"])


async def test_department_filter_counts_only_that_departments_cards(client, sandbox):
    marketing = next(d for d in sandbox.data.departments if d["name"] == "Marketing")
    dept = {u["id"]: u["department_id"] for u in sandbox.data.users}
    owner = {c["id"]: c["owner"]["user_id"] for c in sandbox.data.cards}

    def key(row: dict[str, Any]) -> str | None:
        return by_merchant(row) if dept[owner[row["card_id"]]] == marketing["id"] else None

    args = {"posted_at_start": "2026-07-01", "posted_at_end": "2026-09-30", "department": "marketing", "top_n": 3}
    out = (await call(client, "spend_summary", args)).structured_content
    assert_matches(out, expected_totals(sandbox, "2026-07-01", "2026-09-30", key), 3)


async def test_department_grouping_names_each_department(client, sandbox):
    names = {d["id"]: d["name"] for d in sandbox.data.departments}
    dept = {u["id"]: u["department_id"] for u in sandbox.data.users}
    owner = {c["id"]: c["owner"]["user_id"] for c in sandbox.data.cards}
    args = {"posted_at_start": "2026-02-01", "group_by": "department", "top_n": 10}
    out = (await call(client, "spend_summary", args)).structured_content
    assert_matches(out, expected_totals(sandbox, "2026-02-01", None, lambda r: dept[owner[r["card_id"]]]), 10)
    assert {g["name"] for c in out["currencies"] for g in c["groups"]} <= set(names.values())


async def test_month_grouping_lists_months_in_date_order(client, sandbox):
    args = {"posted_at_start": "2026-01-15", "posted_at_end": "2026-04-14", "group_by": "month", "top_n": 1}
    out = (await call(client, "spend_summary", args)).structured_content
    usd = next(c for c in out["currencies"] if c["currency"] == "USD")
    expected = expected_totals(sandbox, "2026-01-15", "2026-04-14", lambda r: r["posted_at_date"][:7])["USD"]
    assert [(g["key"], g["total"]["amount"]) for g in usd["groups"]] == [(k, v[0]) for k, v in sorted(expected.items())]


async def test_currency_grouping_gives_one_total_per_currency_and_never_a_mixed_sum(client, sandbox):
    args = {"posted_at_start": "2025-12-01", "group_by": "currency"}
    out = (await call(client, "spend_summary", args)).structured_content
    expected = expected_totals(sandbox, "2025-12-01", None, lambda r: r["amount"]["currency"])
    assert {c["currency"]: c["total"]["amount"] for c in out["currencies"]} == {
        cur: groups[cur][0] for cur, groups in expected.items()
    }
    assert all("groups" not in c for c in out["currencies"])
    kwd = next(c for c in out["currencies"] if c["currency"] == "KWD")
    assert kwd["total"]["display"].endswith(" KWD") and len(kwd["total"]["display"].split(" ")[0].split(".")[1]) == 3


async def test_out_of_time_returns_partial_totals_and_the_cursor_continues_them(sandbox):
    settings = settings_for(sandbox, time_budget_seconds=0.001)
    args = {"posted_at_start": "2025-12-01", "group_by": "merchant", "top_n": 5}
    calls, out = 0, None
    async with Client(build_server(settings)) as client:
        while True:
            calls += 1
            cursor = {"cursor": out["next_cursor"]} if out else {}
            out = (await call(client, "spend_summary", {**args, **cursor})).structured_content
            if not out["partial"]:
                break
            assert out["coverage"]["complete"] is False and "PARTIAL" in out["message"]
    assert calls == 6 and out["coverage"]["calls"] == 6 and out["coverage"]["pages"] == 6
    assert out["coverage"]["transactions_scanned"] == len(sandbox.data.transactions)
    assert_matches(out, expected_totals(sandbox, "2025-12-01", None, by_merchant), 5)


async def test_a_cursor_is_refused_with_other_arguments_or_when_unknown(sandbox):
    settings = settings_for(sandbox, time_budget_seconds=0.001)
    async with Client(build_server(settings)) as client:
        first = (await call(client, "spend_summary", {"posted_at_start": "2025-12-01"})).structured_content
        other = await client.call_tool(
            "spend_summary", {"posted_at_start": "2025-12-02", "cursor": first["next_cursor"]}
        )
        unknown = await client.call_tool("spend_summary", {"posted_at_start": "2025-12-01", "cursor": "abc"})
    assert "other arguments" in error_text(other)
    assert "unknown or expired" in error_text(unknown)


async def test_progress_is_reported_for_every_page(client):
    seen: list[tuple[float, str | None]] = []

    async def progress(value: float, _total: float | None, message: str | None) -> None:
        seen.append((value, message))

    await client.call_tool("spend_summary", {"posted_at_start": "2025-12-01"}, progress_callback=progress)
    assert [value for value, _ in seen] == [1000, 2000, 3000, 4000, 5000, 6000]
    assert seen[-1][1] is not None and "6000 transactions on 6 pages" in seen[-1][1]


async def test_a_small_byte_budget_lists_fewer_groups_and_keeps_totals_exact(sandbox):
    settings = settings_for(sandbox, max_result_bytes=4096)
    async with Client(build_server(settings)) as client:
        result = await call(client, "spend_summary", {"posted_at_start": "2025-12-01", "top_n": 50})
    out = result.structured_content
    assert len(result.content[0].text.encode()) <= 4096
    assert out["groups_cut_to"] < 50
    assert_matches(out, expected_totals(sandbox, "2025-12-01", None, by_merchant), out["groups_cut_to"])


async def test_bad_input_is_refused_before_any_request(client, sandbox):
    for args in (
        {"posted_at_start": "2026-05-02", "posted_at_end": "2026-05-01"},
        {"posted_at_start": "2026-05-02", "group_by": "vendor"},
        {"posted_at_start": "2026-05-02", "top_n": 0},
        {"posted_at_start": "2026-05-02", "transaction_types": ["PENDING"]},
        {"posted_at_end": "2026-05-02"},
    ):
        assert (await client.call_tool("spend_summary", args)).is_error, args
    assert sandbox.requests == []


async def test_an_unknown_department_lists_close_matches(client):
    assert "close matches: Marketing" in error_text(
        await client.call_tool("spend_summary", {"posted_at_start": "2026-01-01", "department": "Marketting"})
    )


# -- 50,000 transactions ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large() -> Iterator[Sandbox]:
    with Sandbox(profile="large") as sb:
        yield sb


async def test_large_profile_totals_over_50000_transactions_match_an_independent_sum(large):
    assert len(large.data.transactions) >= 50_000
    started = time.monotonic()
    async with Client(build_server(settings_for(large))) as client:
        result = await call(client, "spend_summary", {"posted_at_start": "2025-12-01", "top_n": 10})
    out = result.structured_content
    assert out["coverage"] == {
        "transactions_scanned": len(large.data.transactions),
        "transactions_counted": sum(1 for t in large.data.transactions if t["type"] in SPEND),
        "pages": 50,
        "calls": 1,
        "complete": True,
    }
    assert_matches(out, expected_totals(large, "2025-12-01", None, by_merchant), 10)
    assert len(json.dumps(out)) < 16 * 1024
    assert time.monotonic() - started < 25
