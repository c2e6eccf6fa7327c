"""Resources (users, cards, the endpoint catalog, the guide) and the two workflow prompts."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError

from brex_mcp.endpoints import ENDPOINTS
from brex_mcp.server import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings):
    """One protocol era is enough for what this file checks; the era-specific paths (confirmation) are
    exercised with both eras explicitly, and tests/test_tools.py covers every tool in both."""
    async with Client(build_server(settings)) as c:
        yield c


async def test_resources_and_templates_are_listed(client):
    assert {r.uri for r in (await client.list_resources()).resources} == {"brex://api/endpoints", "brex://guide"}
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"brex://users/{id}", "brex://cards/{id}"}


async def test_a_user_resource_reads_the_user_with_names(client, sandbox):
    user = sandbox.data.users[4]
    contents = (await client.read_resource(f"brex://users/{user['id']}")).contents
    data = json.loads(contents[0].text)
    assert (data["id"], data["name"], contents[0].mime_type) == (
        user["id"],
        f"{user['first_name']} {user['last_name']}",
        "application/json",
    )
    assert data["department_name"] == next(
        d["name"] for d in sandbox.data.departments if d["id"] == user["department_id"]
    )


async def test_a_card_resource_names_its_owner_and_never_has_a_number(client, sandbox):
    card = sandbox.data.cards[0]
    data = json.loads((await client.read_resource(f"brex://cards/{card['id']}")).contents[0].text)
    owner = next(u for u in sandbox.data.users if u["id"] == card["owner"]["user_id"])
    assert data["owner_name"] == f"{owner['first_name']} {owner['last_name']}"
    assert "number" not in data and "cvv" not in data


async def test_an_unknown_card_resource_is_an_error_not_an_empty_object(client):
    with pytest.raises(MCPError, match="no Brex card has id ncard_nope"):
        await client.read_resource("brex://cards/ncard_nope")


async def test_the_endpoint_catalog_resource_lists_every_endpoint_but_card_data(client):
    data = json.loads((await client.read_resource("brex://api/endpoints")).contents[0].text)
    paths = {(e["method"], e["path"]) for e in data["endpoints"]}
    assert ("POST", "/v2/cards/{id}/lock") in paths and ("GET", "/v2/cards/{id}/pan") not in paths
    assert len(paths) == len(ENDPOINTS) - 2
    assert data["never_available"] == ["/v2/cards/{id}/pan", "/v2/cards/{id}/secure_email"]


async def test_the_guide_explains_money_units_and_paging(client):
    text = (await client.read_resource("brex://guide")).contents[0].text
    assert "minor unit" in text and "next_cursor" in text and "dry_run" in text


async def test_prompts_are_listed_with_their_arguments(client):
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"offboard_leaver", "monthly_spend_review"}
    assert [a.name for a in prompts["monthly_spend_review"].arguments] == ["month", "department"]


async def test_the_offboarding_prompt_runs_a_dry_run_before_the_real_thing(client):
    result = await client.get_prompt("offboard_leaver", {"user": "ada@example.com", "disable_user": "yes"})
    text = result.messages[0].content.text
    assert 'user="ada@example.com"' in text and "disable_user=true" in text
    assert text.index("dry_run=true") < text.index("dry_run=false")


async def test_the_spend_review_prompt_spans_the_whole_month_and_the_one_before(client):
    result = await client.get_prompt("monthly_spend_review", {"month": "2026-03", "department": "Sales"})
    text = result.messages[0].content.text
    assert 'posted_at_start="2026-03-01", posted_at_end="2026-03-31"' in text
    assert "2026-02-01 to 2026-02-28" in text and 'department="Sales"' in text


async def test_the_spend_review_prompt_refuses_a_month_that_is_not_yyyy_mm(client):
    with pytest.raises(MCPError):
        await client.get_prompt("monthly_spend_review", {"month": "March"})
