"""Introspection cannot carry `@requiresPermission`, so what it guards says so in its description
("Requires: USERS_VIEW."); `viewer.permissions` and the `permissions` catalog tell a front end
what the caller may do and what each permission guards (issue 18)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from graphql import get_introspection_query, parse
from graphql.language import FieldDefinitionNode, ObjectTypeDefinitionNode

from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.enums import PERMISSION_DESCRIPTIONS, Permission
from ccgraph.schema.schema import build_schema
from tests import factories as f

SCHEMA = build_schema(Settings(database_url="sqlite+aiosqlite://"))


def directive_of(node: ObjectTypeDefinitionNode | FieldDefinitionNode) -> tuple[list[str], bool] | None:
    """The permissions and `orSelf` of the node's `@requiresPermission`, if it has one."""
    for directive in node.directives or ():
        if directive.name.value == "requiresPermission":
            arguments = {a.name.value: a.value for a in directive.arguments}
            permissions = [v.value for v in arguments["permissions"].values]  # type: ignore[attr-defined]
            or_self = "orSelf" in arguments and arguments["orSelf"].value is True  # type: ignore[attr-defined]
            return permissions, or_self
    return None


def guarded() -> dict[str, tuple[list[str], bool]]:
    """`Type` and `Type.field` -> what its `@requiresPermission` in the printed SDL declares."""
    found = {}
    for definition in parse(SCHEMA.as_str()).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode):
            continue
        name = definition.name.value
        if (declared := directive_of(definition)) is not None:
            found[name] = declared
        for field in definition.fields or ():
            if (declared := directive_of(field)) is not None:
                found[f"{name}.{field.name.value}"] = declared
    return found


def descriptions() -> dict[str, str | None]:
    """`Type` and `Type.field` -> its description, as the public introspection query shows it."""
    result = asyncio.run(SCHEMA.execute(get_introspection_query(descriptions=True)))
    assert result.errors is None and result.data is not None, result.errors
    found: dict[str, str | None] = {}
    for kind in result.data["__schema"]["types"]:
        found[kind["name"]] = kind["description"]
        for field in kind.get("fields") or []:
            found[f"{kind['name']}.{field['name']}"] = field["description"]
    return found


def test_every_guarded_type_and_field_ends_with_the_permissions_it_needs() -> None:
    shown = descriptions()
    wrong = []
    for coordinate, (permissions, or_self) in guarded().items():
        unless = " (the user themselves needs none)" if or_self else ""
        sentence = f"Requires: {', '.join(permissions)}{unless}."
        if not (shown[coordinate] or "").endswith(sentence):
            wrong.append(f"{coordinate}: {shown[coordinate]!r} does not end with {sentence!r}")
    assert not wrong, "\n".join(wrong)


def test_the_walk_sees_guarded_types_root_fields_mutations_and_fields() -> None:
    found = guarded()
    assert found["User"] == (["USERS_VIEW"], True)
    assert found["Query.users"] == (["USERS_VIEW"], False)
    assert found["Mutation.userCreate"] == (["USERS_CREATE"], False)
    assert found["User.sessions"] == (["USERS_EDIT"], True)
    assert len(found) > 60


def test_a_field_without_a_guard_says_nothing_of_permissions() -> None:
    shown = descriptions()
    assert "Requires:" not in (shown["Query.viewer"] or "")
    assert "Requires:" not in (shown["User.fullName"] or "")


CATALOG = "{ permissions { name description mutations fields types } }"


async def test_viewer_permissions_are_the_caller_s_own(app: Any, api: Any, admin: Any, db: Any) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [Permission.TEAMS_VIEW, Permission.USERS_VIEW])
    await f.user(
        db, unit, "reader", password="password-1234", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    token = await api.login("reader", "password-1234")
    data = await api.data("{ viewer { username permissions } }", token=token)
    assert data["viewer"] == {"username": "reader", "permissions": ["USERS_VIEW", "TEAMS_VIEW"]}


async def test_the_catalog_lists_what_each_permission_guards(admin_api: Any) -> None:
    catalog = {entry["name"]: entry for entry in (await admin_api.data(CATALOG))["permissions"]}
    assert list(catalog) == [p.value for p in Permission]
    expected: dict[str, dict[str, list[str]]] = defaultdict(
        lambda: {"mutations": [], "fields": [], "types": []}
    )
    for coordinate, (permissions, _) in guarded().items():
        kind, name = (
            ("types", coordinate)
            if "." not in coordinate
            else ("mutations", coordinate.removeprefix("Mutation."))
            if coordinate.startswith("Mutation.")
            else ("fields", coordinate)
        )
        for permission in permissions:
            expected[permission][kind].append(name)
    for permission in Permission:
        entry = catalog[permission.value]
        assert entry["description"] == PERMISSION_DESCRIPTIONS[permission]
        for kind in ("mutations", "fields", "types"):
            assert sorted(entry[kind]) == sorted(expected[permission.value][kind]), (permission, kind)
    assert "userCreate" in catalog["USERS_CREATE"]["mutations"]
    assert "Query.users" in catalog["USERS_VIEW"]["fields"]
    assert "User" in catalog["USERS_VIEW"]["types"]


async def test_the_catalog_is_for_signed_in_callers(api: Any) -> None:
    body = await api.post(CATALOG, token="")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
