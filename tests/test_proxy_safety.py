"""proxy_request: the endpoint catalog, card data, smuggling, and the response cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brex_mcp import catalog
from brex_mcp.endpoints import ENDPOINTS

pytestmark = pytest.mark.anyio
OPENAPI = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "brex-openapi"


def test_the_catalog_is_exactly_what_brexs_openapi_documents_say():
    if not OPENAPI.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"Brex's OpenAPI documents are missing at {OPENAPI}")
        pytest.skip(f"Brex's OpenAPI documents are not at {OPENAPI}")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build", Path(__file__).parent.parent / "scripts" / "build_endpoint_catalog.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert list(ENDPOINTS) == build.collect(OPENAPI)


def test_catalog_knows_lock_and_its_scope():
    endpoint = catalog.find("POST", "/v2/cards/ncard_1/lock")
    assert (endpoint.template, endpoint.scopes) == ("/v2/cards/{id}/lock", ("cards",))


def test_catalog_prefers_a_literal_segment_over_a_placeholder():
    assert catalog.find("GET", "/v2/users/me").template == "/v2/users/me"


def test_catalog_does_not_know_a_method_brex_does_not_offer():
    assert catalog.find("DELETE", "/v2/cards/ncard_1") is None


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("tail", ["pan", "secure_email"])
async def test_card_data_is_refused_for_every_method_even_with_unknown_endpoints_allowed(sandbox, method, tail):
    from mcp import Client

    from brex_mcp.server import build_server
    from tests.conftest import settings_for

    async with Client(build_server(settings_for(sandbox, allow_unknown_endpoints=True, confirm_writes="never"))) as c:
        result = await c.call_tool("proxy_request", {"method": method, "path": f"/v2/cards/ncard_1/{tail}"})
    assert result.is_error and "card numbers" in result.content[0].text
    assert sandbox.requests == []


@pytest.mark.parametrize(
    "query",
    [
        {"a&b": "1"},
        {"limit=5&cursor": "x"},
        {"x y": "1"},
        {"cursor": "abc\r\nX-Injected: 1"},
        {"user_ids": ["ok", "bad\nvalue"]},
        {"integrated_account_id": "someone-else"},
    ],
)
async def test_query_smuggling_is_refused_before_any_request(client, sandbox, query):
    result = await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/users", "query": query})
    assert result.is_error
    assert sandbox.requests == []


async def test_query_values_are_sent_encoded_not_spliced(client, sandbox):
    await client.call_tool("proxy_request", {"method": "GET", "path": "/v2/users", "query": {"email": "a&limit=1000"}})
    (record,) = sandbox.requests
    assert record.query["email"] == ["a&limit=1000"] and "limit" not in record.query


async def test_an_oversized_page_is_cut_with_an_explicit_marker_and_no_gap_making_cursor(client):
    args = {"method": "GET", "path": "/v2/transactions/card/primary", "query": {"limit": 1000}}
    out = (await client.call_tool("proxy_request", args)).structured_content
    kept = len(out["data"]["items"])
    assert out["truncated"]["items_in_page"] == 1000 and out["truncated"]["items_returned"] == kept < 1000
    assert "next_cursor" not in out["data"]
    assert f"limit={kept}" in out["truncated"]["hint"]


async def test_a_page_that_fits_is_returned_whole_with_its_cursor(client):
    args = {"method": "GET", "path": "/v2/transactions/card/primary", "query": {"limit": 10}}
    out = (await client.call_tool("proxy_request", args)).structured_content
    assert "truncated" not in out and len(out["data"]["items"]) == 10 and out["data"]["next_cursor"]
