"""Names for ids and ids for names: departments, locations, titles and users, cached per process.

Tools show people names instead of ids, and accept names where people think in names. Each list is
fetched whole (one paged walk) and kept for a short time, so a list of 100 users costs one lookup per
kind, not one per row.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import NotFound, PaginationError
from .pagination import Position, parse_page, scan
from .text import clean
from .truto import TrutoClient

Kind = Literal["department", "location", "title"]
PATHS: dict[Kind, str] = {"department": "/v2/departments", "location": "/v2/locations", "title": "/v2/titles"}
PAGE = 1000
MAX_PAGES = 50


def _text(value: Any) -> str | None:
    return (clean(value) or None) if isinstance(value, str) else None


class AmbiguousName(ValueError):
    """A name that matches no entry or several; the message lists close matches."""


@dataclass
class _Cached:
    names: dict[str, str]
    fetched: float


@dataclass(frozen=True)
class Person:
    """What other objects need to know about a user: a name to show, and the ids that place them."""

    id: str
    name: str
    email: str | None
    status: str | None
    department_id: str | None
    location_id: str | None
    title_id: str | None
    manager_id: str | None


@dataclass
class Directory:
    client: TrutoClient
    ttl_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[Kind, _Cached] = field(default_factory=dict)
    _people: tuple[dict[str, Person], float] | None = None

    async def people(self) -> dict[str, Person]:
        """id -> Person for every Brex user, from one paged walk of /v2/users, cached like the other lists."""
        if self._people is not None and self.clock() - self._people[1] < self.ttl_seconds:
            return self._people[0]
        people: dict[str, Person] = {}
        for row in await self._walk("/v2/users"):
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                continue
            name = " ".join(clean(str(row.get(k) or "")) for k in ("first_name", "last_name")).strip()
            people[row["id"]] = Person(
                id=row["id"],
                name=name or row["id"],
                email=_text(row.get("email")),
                status=_text(row.get("status")),
                department_id=_text(row.get("department_id")),
                location_id=_text(row.get("location_id")),
                title_id=_text(row.get("title_id")),
                manager_id=_text(row.get("manager_id")),
            )
        self._people = (people, self.clock())
        return people

    async def person_name(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        person = (await self.people()).get(user_id)
        return person.name if person else None

    async def names(self, kind: Kind) -> dict[str, str]:
        """id -> name for every department, location or title."""
        cached = self._cache.get(kind)
        if cached is not None and self.clock() - cached.fetched < self.ttl_seconds:
            return cached.names
        rows = await self._walk(PATHS[kind])
        names = {str(r["id"]): clean(str(r.get("name") or "")) for r in rows if isinstance(r, dict) and "id" in r}
        self._cache[kind] = _Cached(names, self.clock())
        return names

    async def name_of(self, kind: Kind, item_id: str | None) -> str | None:
        if not item_id:
            return None
        return (await self.names(kind)).get(item_id)

    async def id_for(self, kind: Kind, name: str) -> str:
        """The one id whose name matches (case-insensitive); otherwise AmbiguousName with close matches."""
        names = await self.names(kind)
        wanted = name.strip().casefold()
        exact = [item_id for item_id, item_name in names.items() if item_name.casefold() == wanted]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise AmbiguousName(f"{len(exact)} {kind}s are named {name!r}; use the id: {', '.join(sorted(exact))}")
        close = difflib.get_close_matches(name, list(names.values()), n=5, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else f"; there are {len(names)} {kind}s"
        raise AmbiguousName(f"no {kind} is named {name!r}{hint}")

    async def find_user(self, id_or_email: str) -> dict[str, Any]:
        """A Brex user (Brex's own shape) by id or by email; NotFound when there is none."""
        if "@" not in id_or_email:
            response = await self.client.custom("GET", f"/v2/users/{id_or_email}")
            if not isinstance(response.data, dict):
                raise NotFound(f"no Brex user has id {id_or_email}")
            return response.data
        response = await self.client.custom("GET", "/v2/users", params={"email": id_or_email, "limit": 100})
        wanted = id_or_email.casefold()
        matches = [u for u in parse_page(response.data).items if str(u.get("email", "")).casefold() == wanted]
        if not matches:
            raise NotFound(f"no Brex user has email {id_or_email}")
        return matches[0]

    async def _walk(self, path: str) -> list[Any]:
        async def fetch(position: Position):
            params: dict[str, Any] = {"limit": PAGE}
            if position.cursor is not None:
                params[position.param] = position.cursor
            return parse_page((await self.client.custom("GET", path, params=params)).data)

        result = await scan(fetch, start=Position(page_size=PAGE), want=10**9, max_pages=MAX_PAGES)
        if result.has_more:
            raise PaginationError(f"{path} has more than {MAX_PAGES * PAGE} entries; refusing a partial directory")
        return result.rows
