"""The directory: names for ids with one fetch per kind, ids for names with close matches."""

from __future__ import annotations

import pytest

from brex_mcp.directory import AmbiguousName, Directory
from brex_mcp.errors import NotFound
from brex_mcp.truto import TrutoClient

pytestmark = pytest.mark.anyio


@pytest.fixture
async def directory(settings):
    client = TrutoClient(settings)
    yield Directory(client)
    await client.aclose()


async def test_names_map_every_department_with_one_request(directory, sandbox):
    names = await directory.names("department")
    await directory.names("department")
    assert names == {d["id"]: d["name"] for d in sandbox.data.departments}
    assert len([r for r in sandbox.requests if r.path == "/custom/v2/departments"]) == 1


async def test_the_cache_expires_after_its_ttl(settings, sandbox):
    now = [0.0]
    client = TrutoClient(settings)
    directory = Directory(client, ttl_seconds=60, clock=lambda: now[0])
    await directory.names("title")
    now[0] = 61.0
    await directory.names("title")
    await client.aclose()
    assert len([r for r in sandbox.requests if r.path == "/custom/v2/titles"]) == 2


async def test_id_for_matches_a_name_in_any_case(directory, sandbox):
    department = sandbox.data.departments[2]
    assert await directory.id_for("department", department["name"].upper()) == department["id"]


async def test_an_unknown_name_lists_close_matches(directory, sandbox):
    name = sandbox.data.departments[0]["name"]
    with pytest.raises(AmbiguousName, match=f"close matches: .*{name}"):
        await directory.id_for("department", name[:-1] + "x")


async def test_find_user_by_email_and_by_id(directory, sandbox):
    user = sandbox.data.users[10]
    assert (await directory.find_user(user["email"].upper()))["id"] == user["id"]
    assert (await directory.find_user(user["id"]))["email"] == user["email"]


async def test_find_user_with_an_unknown_email_is_not_found(directory):
    with pytest.raises(NotFound):
        await directory.find_user("nobody@example.com")
