"""The sandbox's Brex objects against Brex's own OpenAPI 3.0 documents.

Every seeded object, and one live page of each list, is checked against the matching component
schema. The check is stricter than the documents in one way: no undocumented field may appear and
every documented field must be present (null where allowed), so the sandbox cannot drift from Brex's
shapes unnoticed.
"""

from __future__ import annotations

import copy
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from brex_mcp.sandbox import Sandbox
from brex_mcp.sandbox.brex import LOCK_REASONS

SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "brex-openapi"
TEAM = "brex_team.2025-03.oas.json"
TRANSACTIONS = "brex_transactions.oas.json"
EXPENSES = "brex_expenses.2025-03.oas.json"
PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # loopback HTTP only: skip loading the CA bundle


# -- schema preparation ---------------------------------------------------------------------------------


def _nullable_refs(node: Any) -> Any:
    """``allOf: [X, {nullable: true}]`` (or ``nullable`` beside ``allOf: [X]``) means "X or null"; a JSON Schema
    validator would reject null there."""
    if isinstance(node, dict):
        parts = node.get("allOf")
        if isinstance(parts, list) and len(parts) == 2 and parts[1] == {"nullable": True}:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return {**rest, "anyOf": [_nullable_refs(parts[0]), {"enum": [None], "nullable": True}]}
        if (
            node.get("nullable") is True
            and isinstance(parts, list)
            and parts
            and all(isinstance(p, dict) and set(p) <= {"description"} for p in parts[1:])
        ):
            # The Expenses documents say it the other way round: ``{nullable: true, allOf: [X, {}?]}``.
            rest = {k: v for k, v in node.items() if k not in ("allOf", "nullable")}
            return {**rest, "anyOf": [_nullable_refs(parts[0]), {"enum": [None], "nullable": True}]}
        return {k: _nullable_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_nullable_refs(v) for v in node]
    return node


def _break_discriminator_cycles(schemas: dict[str, Any]) -> None:
    """Drop ``allOf: [$ref Parent]`` from a variant that the parent lists in its ``oneOf``.

    Brex's ``CardOwner`` is ``oneOf: [UserOwner]`` and ``UserOwner`` is ``allOf: [CardOwner, {...}]``:
    meaningful with a discriminator, an endless loop for a plain validator. The discriminator itself
    goes too (its mapping points at names that are inlined away); ``oneOf`` still checks every variant.
    """
    for name, schema in schemas.items():
        schema.pop("discriminator", None)
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            continue
        kept = []
        for part in parts:
            ref = part.get("$ref", "") if isinstance(part, dict) else ""
            parent = schemas.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/components/schemas/") else None
            if parent and {"$ref": f"#/components/schemas/{name}"} in parent.get("oneOf", []):
                continue
            kept.append(part)
        schema["allOf"] = kept


def _strict(node: Any) -> Any:
    """Objects with listed properties: no other field, and every listed field present."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        properties = node.get("properties")
        if isinstance(properties, dict) and "additionalProperties" not in node:
            out["additionalProperties"] = False
            out["required"] = sorted(properties)
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _inline(node: Any, schemas: dict[str, Any], trail: tuple[str, ...] = ()) -> Any:
    """Resolve every ``#/components/schemas/...`` reference against the whole document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/components/schemas/")
            assert name in schemas and name not in trail, f"unresolvable or cyclic $ref {ref} via {trail}"
            return _inline(schemas[name], schemas, (*trail, name))
        return {k: _inline(v, schemas, trail) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, schemas, trail) for v in node]
    return node


class Spec:
    """Component schemas of one OpenAPI document, prepared for validating instances."""

    def __init__(self, document: dict[str, Any]) -> None:
        schemas = _nullable_refs(copy.deepcopy(document["components"]["schemas"]))
        _break_discriminator_cycles(schemas)
        self.raw = document["components"]["schemas"]
        self._schemas = _strict(schemas)

    def validator(self, name: str, *, array: bool = False) -> OAS30Validator:
        schema = _inline({"$ref": f"#/components/schemas/{name}"}, self._schemas)
        if array:
            schema = {"type": "array", "items": schema}
        OAS30Validator.check_schema(schema)
        return OAS30Validator(schema, format_checker=oas30_format_checker)

    def assert_valid(self, name: str, instance: Any, *, array: bool = False) -> None:
        validator = self.validator(name, array=array)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    if not SPEC_DIR.is_dir():
        reason = f"Brex OpenAPI documents not found at {SPEC_DIR} (CI keeps shared/ beside the clone)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    names = (TEAM, TRANSACTIONS, EXPENSES)
    return {name: Spec(json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))) for name in names}


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as sb:
        yield sb


@pytest.fixture(scope="module")
def api(shared: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {shared.token}"}
    with httpx.Client(base_url=shared.url, headers=headers, trust_env=False, verify=PLAIN_HTTP, timeout=10) as c:
        yield c


def brex(api: httpx.Client, shared: Sandbox, method: str, path: str, **kwargs: Any) -> Any:
    """Call a Brex path through the custom passthrough and unwrap Truto's ``result``."""
    response = api.request(
        method,
        f"/custom{path}",
        params={"integrated_account_id": shared.account_id, **kwargs.pop("params", {})},
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


# -- seeded objects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "document", "schema"),
    [
        ("users", TEAM, "UserResponse"),
        ("departments", TEAM, "DepartmentResponse"),
        ("locations", TEAM, "LocationResponse"),
        ("titles", TEAM, "TitleResponse"),
        ("cards", TEAM, "Card"),
        ("transactions", TRANSACTIONS, "CardTransaction"),
        ("card_accounts", TRANSACTIONS, "CardAccount"),
        ("cash_accounts", TRANSACTIONS, "CashAccount"),
    ],
)
def test_every_seeded_object_matches_its_brex_schema(
    specs: dict[str, Spec], shared: Sandbox, collection: str, document: str, schema: str
) -> None:
    items = shared.data[collection]
    assert items
    specs[document].assert_valid(schema, items, array=True)


def test_the_company_matches_company_response(specs: dict[str, Spec], shared: Sandbox) -> None:
    specs[TEAM].assert_valid("CompanyResponse", shared.data.company)


def test_every_user_limit_matches_user_limit_response(specs: dict[str, Spec], shared: Sandbox) -> None:
    limits = list(shared.data.user_limits.values())
    assert len(limits) == len(shared.data.users)
    specs[TEAM].assert_valid("UserLimitResponse", limits, array=True)


def test_seeded_enums_cover_brex_values(specs: dict[str, Spec], shared: Sandbox) -> None:
    assert set(specs[TEAM].raw["ChangeCardReason"]["enum"]) == LOCK_REASONS
    assert {c["status"] for c in shared.data.cards} == set(specs[TEAM].raw["CardStatus"]["enum"])
    assert {c["limit_type"] for c in shared.data.cards} == set(specs[TEAM].raw["LimitType"]["enum"])
    assert {u["status"] for u in shared.data.users} == set(specs[TEAM].raw["UserStatus"]["enum"])


# -- live responses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "document", "schema"),
    [
        ("/v2/users", TEAM, "Page_UserResponse_"),
        ("/v2/departments", TEAM, "Page_DepartmentResponse_"),
        ("/v2/locations", TEAM, "Page_LocationResponse_"),
        ("/v2/titles", TEAM, "Page_TitleResponse_"),
        ("/v2/cards", TEAM, "Page_Card_"),
        ("/v2/transactions/card/primary", TRANSACTIONS, "Page_CardTransaction_"),
    ],
)
def test_one_page_of_each_list_matches_its_page_schema(
    specs: dict[str, Spec], shared: Sandbox, api: httpx.Client, path: str, document: str, schema: str
) -> None:
    page = brex(api, shared, "GET", path, params={"limit": 3})
    assert len(page["items"]) == 3
    specs[document].assert_valid(schema, page)


def test_single_object_endpoints_match_their_schemas(
    specs: dict[str, Spec], shared: Sandbox, api: httpx.Client
) -> None:
    user_id = shared.data.users[5]["id"]
    specs[TEAM].assert_valid("UserResponse", brex(api, shared, "GET", "/v2/users/me"))
    specs[TEAM].assert_valid("UserResponse", brex(api, shared, "GET", f"/v2/users/{user_id}"))
    specs[TEAM].assert_valid("UserLimitResponse", brex(api, shared, "GET", f"/v2/users/{user_id}/limit"))
    specs[TEAM].assert_valid("Card", brex(api, shared, "GET", f"/v2/cards/{shared.data.cards[0]['id']}"))
    specs[TEAM].assert_valid("CompanyResponse", brex(api, shared, "GET", "/v2/company"))
    specs[TRANSACTIONS].assert_valid("CardAccount", brex(api, shared, "GET", "/v2/accounts/card"), array=True)
    specs[TRANSACTIONS].assert_valid("Page_CashAccount_", brex(api, shared, "GET", "/v2/accounts/cash"))
    specs[TRANSACTIONS].assert_valid("CashAccount", brex(api, shared, "GET", "/v2/accounts/cash/primary"))


def test_a_lock_answers_with_a_card(specs: dict[str, Spec]) -> None:
    with Sandbox(seed=7) as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        with httpx.Client(base_url=sb.url, headers=headers, trust_env=False, verify=PLAIN_HTTP) as client:
            card = next(c for c in sb.data.cards if c["status"] == "ACTIVE")
            locked = brex(client, sb, "POST", f"/v2/cards/{card['id']}/lock", json={"reason": "CARD_LOST"})
    assert locked["status"] == "LOCKED"
    specs[TEAM].assert_valid("Card", locked)


def test_a_user_update_answers_with_a_user(specs: dict[str, Spec]) -> None:
    with Sandbox(seed=7) as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        with httpx.Client(base_url=sb.url, headers=headers, trust_env=False, verify=PLAIN_HTTP) as client:
            user = next(u for u in sb.data.users if u["status"] == "ACTIVE")
            updated = brex(client, sb, "PUT", f"/v2/users/{user['id']}", json={"status": "DISABLED"})
    assert updated["status"] == "DISABLED"
    specs[TEAM].assert_valid("UserResponse", updated)


# -- provisioning and expenses ---------------------------------------------------------------------------


def test_every_seeded_expense_matches_expandable_expense(specs: dict[str, Spec], shared: Sandbox) -> None:
    assert len(shared.data.expenses) > 1000
    specs[EXPENSES].assert_valid("ExpandableExpense", shared.data.expenses, array=True)


def test_a_page_of_expanded_expenses_matches_its_page_schema(
    specs: dict[str, Spec], shared: Sandbox, api: httpx.Client
) -> None:
    params = {"limit": 3, "expand[]": ["merchant", "user", "department", "location"]}
    page = brex(api, shared, "GET", "/v1/expenses", params=params)
    assert len(page["items"]) == 3 and all(e["merchant"] and e["user"] for e in page["items"])
    specs[EXPENSES].assert_valid("Page_ExpandableExpense_", page)
    one = brex(api, shared, "GET", f"/v1/expenses/{page['items'][0]['id']}")
    specs[EXPENSES].assert_valid("ExpandableExpense", one)


def test_created_card_user_limit_memo_and_receipt_upload_match_their_schemas(specs: dict[str, Spec]) -> None:
    with Sandbox(seed=7) as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        with httpx.Client(base_url=sb.url, headers=headers, trust_env=False, verify=PLAIN_HTTP) as client:
            owner = next(u for u in sb.data.users if u["status"] == "ACTIVE")
            create = {
                "owner": {"type": "USER", "user_id": owner["id"]},
                "card_name": "Conference tickets",
                "card_type": "VIRTUAL",
                "limit_type": "CARD",
                "spend_controls": {
                    "spend_limit": {"amount": 150000, "currency": "USD"},
                    "spend_duration": "ONE_TIME",
                    "lock_after_date": "2027-01-31",
                },
            }
            card = brex(client, sb, "POST", "/v2/cards", json=create, headers={"Idempotency-Key": "k-1"})
            invite = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@northwind-aero.example"}
            user = brex(client, sb, "POST", "/v2/users", json=invite)
            limit = brex(
                client,
                sb,
                "POST",
                f"/v2/users/{user['id']}/limit",
                json={"monthly_limit": {"amount": 500000, "currency": "USD"}},
            )
            expense_id = sb.data.expenses[0]["id"]
            updated = brex(client, sb, "PUT", f"/v1/expenses/card/{expense_id}", json={"memo": "Client dinner"})
            upload = client.post(
                f"/custom/v1/expenses/card/{expense_id}/receipt_upload",
                params={"integrated_account_id": sb.account_id},
                json={"receipt_name": "dinner.pdf"},
            )
    assert (card["status"], user["status"], upload.status_code) == ("ACTIVE", "INVITED", 201)
    specs[TEAM].assert_valid("Card", card)
    specs[TEAM].assert_valid("UserResponse", user)
    specs[TEAM].assert_valid("UserLimitResponse", limit)
    specs[EXPENSES].assert_valid("Expense", updated)
    specs[EXPENSES].assert_valid("CreateAsyncFileUploadResponse", upload.json()["result"])
