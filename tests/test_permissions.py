"""`@requiresPermission`: what the SDL declares is what the server enforces, field by field.
The list of guarded fields is read from the schema, so a new field is covered without edits."""

from pathlib import Path

import pytest
from graphql import (
    build_schema,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.pyutils import Undefined

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.schema.schema import build_schema as build_ccgraph_schema
from tests import factories as f

schema = build_ccgraph_schema()

SDL = build_schema(schema.as_str())


def guarded_root_fields(root):
    for field_name, field in root.fields.items():
        directives = field.ast_node.directives or ()
        directive = next((d for d in directives if d.name.value == "requiresPermission"), None)
        if directive is None:
            continue
        permissions = [v.value for v in directive.arguments[0].value.values]
        yield field_name, field, [Permission(p) for p in permissions]


GUARDED = list(guarded_root_fields(SDL.query_type))
GUARDED_MUTATIONS = list(guarded_root_fields(SDL.mutation_type))


def literal(type_) -> str:
    """A well-formed value of an input type: enough to reach the permission check."""
    if is_non_null_type(type_):
        return literal(type_.of_type)
    if is_list_type(type_):
        return "[]"
    if is_enum_type(type_):
        return next(iter(type_.values))
    if is_input_object_type(type_):
        required = [
            f"{name}: {literal(field.type)}"
            for name, field in type_.fields.items()
            if is_non_null_type(field.type) and field.default_value is Undefined
        ]
        return "{" + ", ".join(required) + "}"
    return {"ID": f'"{f.gid("User", 1)}"', "Int": "1", "Boolean": "false", "Float": "1.0"}.get(
        type_.name, '"x"'
    )


def query_for(name, field) -> str:
    args = [
        f"{arg_name}: {literal(arg.type)}"
        for arg_name, arg in field.args.items()
        if is_non_null_type(arg.type) and arg.default_value is Undefined
    ]
    call = f"{name}({', '.join(args)})" if args else name
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{{ {call}{selection} }}"


@pytest.mark.parametrize("name", [name for name, _, _ in GUARDED_MUTATIONS])
async def test_guarded_mutation_needs_a_token_and_its_permission(name, app, api, admin, db):
    _, field, needed = next(g for g in GUARDED_MUTATIONS if g[0] == name)
    unit = await db.get(m.BusinessUnit, 1)
    almost = await f.security_profile(db, unit, [p for p in Permission if p not in needed])
    await f.user(
        db, unit, "almost", password="password-1234", passwords=app.state.passwords, profiles=[almost]
    )
    await db.commit()
    mutation = "mutation " + query_for(name, field)
    body = await api.post(mutation, token="")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    body = await api.post(mutation, token=await api.login("almost", "password-1234"))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert all(p.value in body["errors"][0]["message"] for p in needed)


def test_every_mutation_but_the_viewers_own_is_guarded():
    unguarded = set(SDL.mutation_type.fields) - {name for name, _, _ in GUARDED_MUTATIONS}
    # what a signed-in user does about themselves needs no permission
    assert unguarded == {
        "login",
        "logout",
        "viewerPasswordChange",
        "viewerMfaEnroll",
        "viewerMfaConfirm",
        "sessionRevoke",
    }


def test_every_root_field_but_viewer_node_nodes_permissions_and_events_is_guarded():
    unguarded = set(SDL.query_type.fields) - {name for name, _, _ in GUARDED}
    # `node`, `nodes` and `events` check each object they return (events.may_see for the feed)
    assert unguarded == {"viewer", "node", "nodes", "permissions", "events"}


def test_the_checked_in_sdl_declares_the_directive():
    text = (Path(__file__).parent.parent / "schema.graphql").read_text()
    assert (
        "directive @requiresPermission(permissions: [Permission!]!, orSelf: Boolean) on FIELD_DEFINITION"
        in text
    )
    assert "users(" in text and "@requiresPermission(permissions: [USERS_VIEW])" in text


@pytest.mark.parametrize("name", [name for name, _, _ in GUARDED])
async def test_guarded_root_field_needs_a_token_and_its_permission(name, app, api, admin, db):
    _, field, needed = next(g for g in GUARDED if g[0] == name)
    unit = await db.get(m.BusinessUnit, 1)
    nothing = await f.security_profile(db, unit, [])
    others = [p for p in Permission if p not in needed]
    almost = await f.security_profile(db, unit, others)
    exact = await f.security_profile(db, unit, needed)
    await f.user(
        db, unit, "nobody", password="password-1234", passwords=app.state.passwords, profiles=[nothing]
    )
    await f.user(
        db, unit, "almost", password="password-1234", passwords=app.state.passwords, profiles=[almost]
    )
    await f.user(db, unit, "exact", password="password-1234", passwords=app.state.passwords, profiles=[exact])
    await db.commit()
    query = query_for(name, field)

    body = await api.post(query, token="")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body

    for username in ("nobody", "almost"):
        body = await api.post(query, token=await api.login(username, "password-1234"))
        error = body["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN", body
        assert all(p.value in error["message"] for p in needed)

    body = await api.post(query, token=await api.login("exact", "password-1234"))
    assert "errors" not in body, body
