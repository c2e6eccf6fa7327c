"""Base for everything tools return: absent instead of null, and schemas that say so.

Results leave out empty (None) fields to save the model's context, so an optional field is either
present with its type or absent. Publishing it as `anyOf [T, null]` would be untrue and makes
clients that validate results (the SDK's own Client does) several times slower on long lists.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def _absent_not_null(schema: dict[str, Any], _cls: type) -> None:
    required = set(schema.get("required", ()))
    schema.pop("title", None)
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)  # generated from the field name: bytes in tools/list that say nothing
        if name in required:
            continue
        if prop.get("default", 0) is None:
            del prop["default"]
        branches = prop.get("anyOf")
        if isinstance(branches, list) and {"type": "null"} in branches:
            rest = [b for b in branches if b != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A whole published schema, $defs included, without generated titles or null branches of optional fields."""
    for model in [schema, *schema.get("$defs", {}).values()]:
        _absent_not_null(model, type(None))
    return schema


class Output(BaseModel):
    model_config = ConfigDict(json_schema_extra=_absent_not_null)
