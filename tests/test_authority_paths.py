"""Authorization follows the object, not the path, generated from the schema: every object type
that `@requiresPermission` guards, reached through every relation up to three hops from
`viewer`, `node` and each root field, read by a principal who holds every permission but the
object's, gives FORBIDDEN or nothing, never the object's fields. The same query by the same
user holding every permission reads the objects, so the paths are not empty by accident."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    build_schema,
    get_named_type,
    is_non_null_type,
    is_object_type,
)
from sqlalchemy import delete, select, update

from ccgraph.app import create_app
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.services.demo import load_demo
from tests import factories as f


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    """The app, with room for three connections below a root one and many paths a query."""
    roomy = replace(
        settings, max_query_depth=20, max_query_aliases=1000, max_query_tokens=10**6, max_query_cost=10**9
    )
    application = create_app(roomy)
    async with application.router.lifespan_context(application):
        yield application


SDL = build_schema((Path(__file__).parent.parent / "schema.graphql").read_text())
DEPTH = 3  # relations after the root field


def type_permission(type_: Any) -> tuple[str, bool] | None:
    """The permission a type's `@requiresPermission` declares, and whether the viewer reads
    their own object without it."""
    node = getattr(type_, "ast_node", None)
    for directive in (node.directives or []) if node else []:
        if directive.name.value == "requiresPermission":
            args = {a.name.value: a.value for a in directive.arguments}
            [permission] = [v.value for v in args["permissions"].values]
            return permission, "orSelf" in args and args["orSelf"].value
    return None


GUARDED = {name: type_permission(t) for name, t in SDL.type_map.items() if type_permission(t)}


def connection_node(type_: GraphQLObjectType) -> GraphQLObjectType | None:
    edges = type_.fields.get("edges")
    return get_named_type(get_named_type(edges.type).fields["node"].type) if edges else None


@dataclass(frozen=True)
class Step:
    field: str
    landing: str  # the object type the step reaches
    connection: bool
    on: str | None = None  # `node(id:)`: the type of the inline fragment


def relations(type_: GraphQLObjectType) -> Iterator[tuple[str, GraphQLField, GraphQLObjectType, bool]]:
    for name, field in type_.fields.items():
        target = get_named_type(field.type)
        if not is_object_type(target):
            continue
        node = connection_node(target)
        yield name, field, node or target, node is not None


def paths() -> list[tuple[Step, ...]]:
    """Every path from a root field to a guarded type, up to DEPTH relations after the root."""
    found: list[tuple[Step, ...]] = []

    def walk(type_: GraphQLObjectType, path: tuple[Step, ...], depth: int) -> None:
        if type_.name in GUARDED:
            found.append(path)
        if depth == DEPTH:
            return
        for name, _, landing, connection in relations(type_):
            walk(landing, (*path, Step(name, landing.name, connection)), depth + 1)

    for name, field in SDL.query_type.fields.items():
        if name == "node":
            for type_name in GUARDED:
                if (
                    is_object_type(SDL.type_map[type_name])
                    and connection_node(SDL.type_map[type_name]) is None
                ):
                    walk(SDL.type_map[type_name], (Step("node", type_name, False, on=type_name),), 0)
            continue
        target = get_named_type(field.type)
        if is_object_type(target):
            node = connection_node(target)
            walk(node or target, (Step(name, (node or target).name, node is not None),), 0)
    return found


PATHS = paths()


def arguments(parent: GraphQLObjectType, step: Step, ids: dict[str, str]) -> str:
    field = parent.fields[step.field]
    given = []
    for name, arg in field.args.items():
        if name == "first":
            given.append("first: 2")
        elif is_non_null_type(arg.type):
            assert name == "id", f"{parent.name}.{step.field}: give the required argument {name!r} a value"
            given.append(f'id: "{ids[step.on or step.landing]}"')
    return f"({', '.join(given)})" if given else ""


def selection(path: tuple[Step, ...], ids: dict[str, str], alias: str) -> str:
    """`alias: root(...) { ... id }` for one path."""
    parents = [SDL.query_type] + [SDL.type_map[s.landing] for s in path[:-1]]
    inner = "id"
    for parent, step in reversed(list(zip(parents, path, strict=True))):
        if step.on:
            inner = f"... on {step.on} {{ {inner} }}"
        if step.connection:
            inner = f"edges {{ node {{ {inner} }} }}"
        name = f"{alias}: {step.field}" if step is path[0] else step.field
        inner = f"{name}{arguments(parent, step, ids)} {{ {inner} }}"
    return inner


def reached(data: Any, path: tuple[Step, ...], alias: str) -> list[Any]:
    """The values at the end of `path` in a response's data (None where a parent is null)."""
    values = [data]
    for step in path:
        key = alias if step is path[0] else step.field
        following = []
        for value in values:
            if value is None:
                following.append(None)
                continue
            child = value.get(key)
            if step.connection and child is not None:
                following += [edge["node"] if edge else None for edge in child["edges"]]
            elif isinstance(child, list):
                following += child
            else:
                following.append(child)
        values = following
    return [v for v in values if v is not None]


async def read(api: Any, paths: list[tuple[Step, ...]], ids: dict[str, str]) -> list[tuple[list[Any], Any]]:
    """Each path's values and the response's errors: the paths as aliases of one query, or one
    query each when an error nulled the whole response (a non-null root field refused)."""
    body = await api.post("{ " + " ".join(selection(p, ids, f"p{i}") for i, p in enumerate(paths)) + " }")
    if body.get("data") is None and len(paths) > 1:
        return [answer for path in paths for answer in await read(api, [path], ids)]
    return [(reached(body["data"], p, f"p{i}"), body.get("errors")) for i, p in enumerate(paths)]


def test_every_guarded_type_says_the_permission_of_its_root_list():
    """The type's declaration agrees with the root field that lists the type."""
    roots = {}
    for field in SDL.query_type.fields.values():
        node = (
            connection_node(get_named_type(field.type))
            if is_object_type(get_named_type(field.type))
            else None
        )
        directives = field.ast_node.directives or [] if field.ast_node else []
        for directive in directives:
            if node is not None and directive.name.value == "requiresPermission":
                [arg] = [a for a in directive.arguments if a.name.value == "permissions"]
                roots[node.name] = [v.value for v in arg.value.values]
    nodes = {name for name, t in GUARDED.items() if connection_node(SDL.type_map[name]) is None}
    assert nodes == set(roots), "every guarded type is listed by a root field, and only those"
    for name in nodes:
        assert [GUARDED[name][0]] == roots[name], name
    assert GUARDED["User"] == ("USERS_VIEW", True)
    assert len(PATHS) > 500  # the walk reaches far: a change that stops it fails here


async def test_no_path_reads_an_object_without_its_permission(app, api, admin, db):
    await load_demo(db)
    unit = await db.get(m.BusinessUnit, 1)
    probe = await f.security_profile(db, unit, list(Permission), name="Probe")
    ravi = (await db.execute(select(m.User).where(m.User.username == "ravi.kumar"))).scalar_one()
    ravi.password_hash = await app.state.passwords.hash("probe-password-1")
    await db.execute(delete(m.user_security_profiles).where(m.user_security_profiles.c.user_id == ravi.id))
    await f.link(db, m.user_security_profiles, user_id=ravi.id, security_profile_id=probe.id)
    await db.execute(update(m.User).where(m.User.username == "lena.vogel").values(manager_id=ravi.id))
    db.add(
        m.Webhook(
            business_unit_id=unit.id,
            owner_user_id=ravi.id,
            url="https://partner.example/hooks",
            event_types=["user.created"],
            secret_sealed="sealed",
        )
    )  # a webhook to reach
    await db.commit()
    api.token = await api.login("ravi.kumar", "probe-password-1")
    await api.data('mutation { teamCreate(input: {name: "Audited"}) { team { id } } }')  # an audit event
    ids = {}
    for name in GUARDED:
        model = getattr(m, name, None)
        if model is not None:
            pk = (
                (await db.execute(select(model.id).where(model.id != ravi.id).order_by(model.id)))
                .scalars()
                .first()
            )
            ids[name] = f.gid(name, pk)
    me = f.gid("User", ravi.id)

    seen: Counter[str] = Counter()
    groups: dict[tuple[str, str], list[tuple[Step, ...]]] = {}
    for path in PATHS:
        groups.setdefault((GUARDED[path[-1].landing][0], path[0].field), []).append(path)
    for permission in sorted({p for p, _ in groups}):
        for held in (list(Permission), [p for p in Permission if p.value != permission]):
            probe.permissions = [p.value for p in held]
            db.add(probe)
            await db.commit()
            full = len(held) == len(Permission)
            for group in [g for (p, _), g in groups.items() if p == permission]:
                for path, (values, errors) in zip(group, await read(api, group, ids), strict=True):
                    if full:
                        assert errors is None, (path, errors)
                        seen[path[-1].landing] += bool(values)
                        continue
                    leaked = [v for v in values if not (GUARDED[path[-1].landing][1] and v.get("id") == me)]
                    assert leaked == [], (permission, selection(path, ids, "leak"), values)
                    assert {e.get("extensions", {}).get("code") for e in errors or []} <= {"FORBIDDEN"}, (
                        errors
                    )
    assert set(seen) == {p[-1].landing for p in PATHS}  # every guarded type was read in full
    assert all(seen.values())


def test_a_forbidden_relation_nulls_only_itself():
    """Every field below the root that leads to a guarded object (directly, through a
    connection, or through a wrapper such as EffectiveQueue) is nullable: a caller who may
    not read that object still gets the rest of their answer."""

    def guarded(type_: Any) -> bool:
        node = connection_node(type_) if is_object_type(type_) else None
        return type_.name in GUARDED or (node is not None and node.name in GUARDED)

    def wrapper(type_: Any) -> bool:
        fields = type_.fields.values() if is_object_type(type_) and not guarded(type_) else ()
        return any(is_non_null_type(f.type) and guarded(get_named_type(f.type)) for f in fields)

    strict = [
        f"{name}.{field_name}"
        for name, type_ in SDL.type_map.items()
        if is_object_type(type_)
        and not name.startswith("__")
        and type_ not in (SDL.query_type, SDL.mutation_type)
        and connection_node(type_) is None
        and "cursor" not in type_.fields
        and not wrapper(type_)
        for field_name, field in type_.fields.items()
        if is_non_null_type(field.type)
        and (guarded(get_named_type(field.type)) or wrapper(get_named_type(field.type)))
    ]
    assert strict == []
