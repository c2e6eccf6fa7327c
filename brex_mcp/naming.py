"""Names instead of ids in what tools return: one directory fetch per kind per call, never one per row."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

from .directory import Directory
from .models import Card, User

U = TypeVar("U", bound=User)
C = TypeVar("C", bound=Card)


async def name_users(users: Sequence[U], directory: Directory, wanted: Collection[str] | None = None) -> list[U]:
    """Fill department_name, location_name and manager_name, fetching only the lists the output needs."""

    def needs(field: str) -> bool:
        return wanted is None or field in wanted

    departments = await directory.names("department") if needs("department_name") and users else {}
    people = await directory.people() if needs("manager_name") and users else {}
    locations: dict[str, str] = {}
    if needs("location_name") and any(getattr(u, "location_id", None) for u in users):
        locations = await directory.names("location")
    named = []
    for user in users:
        manager = people.get(user.manager_id or "")
        location_id = getattr(user, "location_id", None)
        named.append(
            user.model_copy(
                update={
                    "department_name": departments.get(user.department_id or "") or None,
                    "location_name": locations.get(location_id or "") or None,
                    "manager_name": manager.name if manager else None,
                }
            )
        )
    return named


async def name_cards(cards: Sequence[C], directory: Directory) -> list[C]:
    """Fill owner_name from the (cached) user list."""
    if not cards:
        return []
    people = await directory.people()
    named = []
    for card in cards:
        owner = people.get(card.owner_user_id or "")
        named.append(card.model_copy(update={"owner_name": owner.name if owner else None}))
    return named
