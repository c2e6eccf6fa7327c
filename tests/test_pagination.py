import pytest

from brex_mcp.errors import MalformedResponse, PaginationError
from brex_mcp.pagination import Page, Position, parse_page, scan


def test_truto_envelope_pages_with_next_cursor_param():
    assert parse_page({"result": [1, 2], "next_cursor": "n1", "prev_cursor": None}) == Page([1, 2], "n1", "next_cursor")


def test_brex_page_inside_result_pages_with_cursor_param():
    assert parse_page({"result": {"items": [1], "next_cursor": "b1"}, "next_cursor": None}) == Page([1], "b1", "cursor")


def test_bare_brex_page_pages_with_cursor_param():
    assert parse_page({"items": [], "next_cursor": None}) == Page([], None, "cursor")


def test_empty_string_cursor_is_the_end():
    assert parse_page({"result": [1], "next_cursor": ""}).next_cursor is None


def test_unknown_list_shape_is_an_error_not_an_empty_list():
    with pytest.raises(MalformedResponse):
        parse_page({"data": []})


def test_position_round_trips_through_its_token():
    position = Position("abc", "next_cursor", 3, 100)
    assert Position.decode(position.encode("list_users"), "list_users") == position


def test_a_cursor_from_another_tool_is_refused_naming_both():
    token = Position("abc", "cursor", 0, 100).encode("list_users")
    with pytest.raises(ValueError, match="made by list_users, not list_transactions"):
        Position.decode(token, "list_transactions")


def encoded(data: dict) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-cursor",
        "e30",
        "eyJjIjogMX0",
        encoded({"t": "x", "c": None, "p": "cursor", "o": 0, "l": 100000}),
        encoded({"t": "x", "c": None, "p": "cursor", "o": -1, "l": 10}),
        encoded({"t": "x", "c": 5, "p": "cursor", "o": 0, "l": 10}),
        encoded({"t": "x", "c": None, "p": "page", "o": 0, "l": 10}),
        encoded({"t": "x", "c": None, "p": "cursor", "o": "0", "l": 10}),
    ],
)
def test_foreign_or_forged_cursor_is_rejected_with_a_plain_message(token):
    with pytest.raises(ValueError, match="cursor is not valid"):
        Position.decode(token, "x")


def pages_of(pages: dict):
    calls = []

    async def fetch(position: Position) -> Page:
        calls.append(position.cursor)
        items, nxt = pages[position.cursor]
        return Page(items, nxt, "cursor")

    return fetch, calls


@pytest.mark.anyio
async def test_empty_page_with_a_cursor_is_not_the_end():
    fetch, calls = pages_of({None: ([], "a"), "a": ([1, 2], None)})
    result = await scan(fetch, start=Position(), want=10, max_pages=5)
    assert (result.rows, result.has_more, calls) == ([1, 2], False, [None, "a"])


@pytest.mark.anyio
async def test_repeated_cursor_is_an_error_not_a_loop():
    fetch, _ = pages_of({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    with pytest.raises(PaginationError, match="'a' twice"):
        await scan(fetch, start=Position(), want=10, max_pages=50)


@pytest.mark.anyio
async def test_page_cap_returns_what_it_has_and_where_to_resume():
    fetch, _ = pages_of({None: ([1], "a"), "a": ([2], "b"), "b": ([3], None)})
    result = await scan(fetch, start=Position(), want=10, max_pages=2)
    assert (result.rows, result.next) == ([1, 2], Position("b", "cursor", 0, 0))


@pytest.mark.anyio
async def test_stopping_mid_page_resumes_at_the_next_row_without_skipping():
    fetch, _ = pages_of({None: ([1, 2, 3, 4, 5], "a"), "a": ([6, 7], None)})
    odd = lambda n: n % 2 == 1  # noqa: E731
    first = await scan(fetch, start=Position(), want=2, accept=odd, max_pages=5)
    second = await scan(fetch, start=first.next, want=2, accept=odd, max_pages=5)
    assert (first.rows, second.rows, second.has_more) == ([1, 3], [5, 7], False)


@pytest.mark.anyio
async def test_filled_on_the_last_row_of_a_page_resumes_at_the_next_page():
    fetch, _ = pages_of({None: ([1, 2], "a"), "a": ([3], None)})
    result = await scan(fetch, start=Position(), want=2, max_pages=5)
    assert result.next == Position("a", "cursor", 0, 0)
