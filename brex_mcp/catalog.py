"""Which Brex endpoints proxy_request may reach: the catalog from Brex's OpenAPI documents, minus card data."""

from __future__ import annotations

from dataclasses import dataclass

from .endpoints import ENDPOINTS

# Card numbers and CVVs must never reach a model, whatever the configuration.
CARD_DATA_TEMPLATES = frozenset({"/v2/cards/{id}/pan", "/v2/cards/{id}/secure_email"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    scopes: tuple[str, ...]
    idempotency_key_required: bool

    @property
    def returns_card_data(self) -> bool:
        return self.template in CARD_DATA_TEMPLATES


_BY_SHAPE: dict[tuple[str, int], list[tuple[tuple[str, ...], Endpoint]]] = {}
for _method, _template, _scopes, _needs_key in ENDPOINTS:
    _segments = tuple(_template.strip("/").split("/"))
    _BY_SHAPE.setdefault((_method, len(_segments)), []).append(
        (_segments, Endpoint(_method, _template, _scopes, _needs_key))
    )


def find(method: str, path: str) -> Endpoint | None:
    """The catalog entry for a concrete path; literal segments beat {placeholders} (/v2/users/me vs {id})."""
    segments = path.strip("/").split("/")
    best: tuple[int, Endpoint] | None = None
    for template, endpoint in _BY_SHAPE.get((method.upper(), len(segments)), []):
        literal = 0
        for want, got in zip(template, segments, strict=True):
            if want.startswith("{"):
                continue
            if want != got:
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, endpoint)
    return best[1] if best else None


def is_card_data_path(path: str) -> bool:
    """Card-data endpoints by shape, for any method: refused even where the catalog has no entry for the method."""
    segments = path.strip("/").casefold().split("/")
    return len(segments) == 4 and segments[:2] == ["v2", "cards"] and segments[3] in ("pan", "secure_email")
