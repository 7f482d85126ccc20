"""Every type, field, argument, input field and enum value of the live schema, as introspection
shows it to GraphiQL's docs pane, carries a description (issue 18)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import get_introspection_query

from ccgraph.config import Settings
from ccgraph.schema.schema import build_schema

# graphql-core's own scalars describe themselves; strawberry's built-ins are described by it.
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def undescribed(schema: dict[str, Any]) -> list[str]:
    """The coordinates (`Type`, `Type.field`, `Type.field(arg:)`, `Enum.VALUE`) without a description."""
    missing: list[str] = []

    def check(coordinate: str, element: dict[str, Any]) -> None:
        if not (element.get("description") or "").strip():
            missing.append(coordinate)

    for kind in schema["types"]:
        name = kind["name"]
        if name.startswith("__") or name in BUILT_IN:
            continue
        check(name, kind)
        for field in kind.get("fields") or []:
            check(f"{name}.{field['name']}", field)
            for arg in field["args"]:
                check(f"{name}.{field['name']}({arg['name']}:)", arg)
        for field in kind.get("inputFields") or []:
            check(f"{name}.{field['name']}", field)
        for value in kind.get("enumValues") or []:
            check(f"{name}.{value['name']}", value)
    return missing


def introspected() -> dict[str, Any]:
    schema = build_schema(Settings(database_url="sqlite+aiosqlite://"))
    result = asyncio.run(schema.execute(get_introspection_query(descriptions=True)))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["__schema"]


def test_every_type_field_argument_input_field_and_enum_value_is_described() -> None:
    missing = undescribed(introspected())
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_walk_sees_arguments_input_fields_and_enum_values() -> None:
    """The walk reaches the coordinates it claims to check (so an empty list means something)."""
    schema = introspected()
    names = {kind["name"]: kind for kind in schema["types"]}
    assert any(f["name"] == "first" for f in names["Query"]["fields"][0]["args"] or []) or any(
        a["name"] == "first" for f in names["Query"]["fields"] for a in f["args"]
    )
    assert names["TeamCreateInput"]["inputFields"]
    assert names["Permission"]["enumValues"]
    bare = {"types": [{"name": "T", "description": "", "fields": [], "enumValues": [{"name": "V"}]}]}
    assert undescribed(bare) == ["T", "T.V"]
