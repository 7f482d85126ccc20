"""Every field of every type served in pages is loaded for the whole page at once: generated
from the schema, so a relation added without declaring its loader fails here.

A "deferred load" is a `DataLoader.load` call made while the page's fields resolve: one per row
for a relation the page prefetch did not load. Selecting any one field under the nodes of any
root connection must make none."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)

from ccgraph import loaders
from ccgraph.execution import prefetch
from ccgraph.schema.schema import build_schema
from tests import factories as f

SCHEMA = build_schema()


def _callable(field: Any) -> bool:
    return not any(is_non_null_type(a.type) and a.default_value is None for a in field.args.values())


def _related(type_: GraphQLObjectType) -> set[str]:
    """The fields of a type that declare a relation (the test of its own pages covers them)."""
    definition = SCHEMA.get_type_by_name(type_.name)
    return {
        SCHEMA.config.name_converter.get_graphql_name(f)
        for f in getattr(definition, "fields", ())
        if f.metadata and prefetch.NEEDS in f.metadata
    }


def _leaves(type_: GraphQLObjectType) -> str:
    """A nested node's own values: a relation of a relation is not the page's to load."""
    related = _related(type_)
    return " ".join(
        n
        for n, fd in type_.fields.items()
        if is_leaf_type(get_named_type(fd.type)) and _callable(fd) and n not in related
    )


def _is_node(type_: GraphQLObjectType) -> bool:
    return any(i.name == "Node" for i in type_.interfaces)


def selection(type_: GraphQLObjectType) -> str:
    """The field's own values: a node's leaves, a connection's page, any other object whole."""
    if type_.name.endswith("Connection"):
        return "{ totalCount pageInfo { hasNextPage } edges { cursor node { id } } nodes { id } }"
    if _is_node(type_):
        return "{ " + _leaves(type_) + " }"
    parts = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        if not _callable(field):
            continue
        parts.append(name if is_leaf_type(named) else f"{name} {selection(named)}")
    return "{ " + " ".join(parts) + " }"


def pages(schema: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    """The root connections and the node type each serves."""
    found = {}
    for name, field in schema.query_type.fields.items():
        named = get_named_type(field.type)
        if is_object_type(named) and named.name.endswith("Connection") and _callable(field):
            found[name] = get_named_type(named.fields["edges"].type).fields["node"].type
    return {name: get_named_type(t) for name, t in found.items()}


def queries(schema: GraphQLSchema) -> dict[tuple[str, str], str]:
    """One page query per (root connection, field of its nodes)."""
    out = {}
    for root, node in pages(schema).items():
        for name, field in node.fields.items():
            if not _callable(field):
                continue
            named = get_named_type(field.type)
            part = name if is_leaf_type(named) else f"{name} {selection(named)}"
            ident = "id" if "id" in node.fields else "eventId"  # the events feed's are not Nodes
            out[(root, name)] = f"{{ {root}(first: 20) {{ nodes {{ {ident} {part} }} }} }}"
    return out


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts `DataLoader.load` calls, by the loader's batch function."""
    counted: Counter[str] = Counter()
    load = loaders.DataLoader.load

    def counting(self: Any, key: Any) -> Any:
        counted[self.load_fn.__qualname__] += 1
        return load(self, key)

    monkeypatch.setattr(loaders.DataLoader, "load", counting)
    return counted


async def _run_all(app: Any, api: Any, deferred: Counter[str]) -> dict[tuple[str, str], int]:
    for name in ("Tier 2", "Tier 3"):  # audit events to page through
        await api.data(f'mutation {{ teamCreate(input: {{name: "{name}"}}) {{ userErrors {{ code }} }} }}')
    loads = {}
    for key, query in queries(SCHEMA._schema).items():
        deferred.clear()
        body = await api.post(query)
        assert "errors" not in body, (key, body["errors"])
        assert body["data"][key[0]]["nodes"], key  # the page holds rows: the field was resolved
        loads[key] = sum(deferred.values())
    return loads


async def test_no_field_of_a_page_is_loaded_row_by_row(app, db, admin_api, deferred):
    await f.organisation(db, 25)
    loads = await _run_all(app, admin_api, deferred)
    assert ("users", "team") in loads and ("userProfiles", "queues") in loads  # generated, not empty
    assert {key: n for key, n in loads.items() if n} == {}


async def test_the_count_is_real_without_the_prefetch(app, db, admin_api, deferred, monkeypatch):
    """With the prefetch switched off, the same queries make a load per row of each relation."""
    monkeypatch.setattr(prefetch, "wanted", lambda info, node_type: [])
    await f.organisation(db, 25)
    loads = await _run_all(app, admin_api, deferred)
    assert loads[("users", "team")] >= 15  # one per user with a team
    assert loads[("users", "skills")] >= 20
    assert loads[("users", "effectiveSettings")] >= 20 * 4
    assert loads[("users", "username")] == 0


async def test_arguments_from_variables_are_prefetched_as_literals_are(app, db, admin_api, deferred):
    await f.organisation(db, 25)
    query = """query($k: Int, $order: ProficiencyOrder, $reports: Int) { users(first: 20) { nodes {
      skills(first: $k, orderBy: $order, search: "S") { totalCount edges { proficiency node { name } } }
      directReports(first: $reports) { totalCount nodes { username } }
      literal: skills(first: 2, orderBy: {field: PROFICIENCY, direction: DESC}) { edges { node { name } } }
    } } }"""
    variables = {"k": 3, "order": {"field": "PROFICIENCY", "direction": "DESC"}, "reports": 2}
    data = await admin_api.data(query, variables)
    assert any(u["skills"]["edges"] for u in data["users"]["nodes"])
    assert sum(deferred.values()) == 0, dict(deferred)


def test_a_loaders_keys_go_to_postgresql_as_one_array():
    """One statement for any number of keys: PostgreSQL gets them as one array parameter, and
    SQLite's list is written out when the statement runs (db.records.key_in)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from ccgraph.db import models as m

    statement = loaders._by_id_statement(m.Team, frozenset())
    on_postgresql = str(statement.compile(dialect=postgresql.asyncpg.dialect()))
    assert on_postgresql.endswith("WHERE teams.id = ANY ($1::BIGINT[])"), on_postgresql
    on_sqlite = str(statement.compile(dialect=sqlite.dialect()))
    assert on_sqlite.endswith("WHERE teams.id IN (__[POSTCOMPILE_ids])"), on_sqlite


def _orders(field: Any) -> list[str]:
    """Every `orderBy` a connection field takes (each field, each direction), or none."""
    given = field.args.get("orderBy")
    if given is None:
        return [""]
    order = get_named_type(given.type)
    kinds = [get_named_type(order.fields[name].type) for name in ("field", "direction")]
    return [
        f", orderBy: {{field: {by}, direction: {way}}}" for by in kinds[0].values for way in kinds[1].values
    ]


def nested_connections(schema: GraphQLSchema) -> list[tuple[str, str, str, str]]:
    """(root connection, its node type, a connection field of those nodes, an orderBy)."""
    found = []
    for root, node in pages(schema).items():
        for name, field in node.fields.items():
            named = get_named_type(field.type)
            if is_object_type(named) and named.name.endswith("Connection") and "after" in field.args:
                found += [(root, node.name, name, order) for order in _orders(field)]
    return found


WALK = """query($id: ID!, $after: String, $before: String) { node(id: $id) { ... on %s {
  forward: %s(first: 2, after: $after%s) { edges { cursor } pageInfo { hasNextPage endCursor } }
  backward: %s(last: 2, before: $before%s) { edges { cursor } pageInfo { hasPreviousPage startCursor } }
} } }"""


async def test_every_nested_connection_pages_by_cursor_in_every_order(db, admin_api):
    """A nested page's cursors are made from its rows' sort keys, wherever the statement reads
    them: walked two at a time forwards and backwards, every connection under every node type
    gives the list it gives whole, in every order."""
    await f.organisation(db, 25)
    walked = set()
    for root, type_name, name, order in nested_connections(SCHEMA._schema):
        whole = await admin_api.data(
            f"{{ {root}(first: 50) {{ nodes {{ id {name}(first: 100{order}) {{ edges {{ cursor }} }} }} }} }}"
        )
        parent = max(whole[root]["nodes"], key=lambda n: len(n[name]["edges"]))
        expected = [e["cursor"] for e in parent[name]["edges"]]
        if len(expected) < 3:
            continue
        forward, after = [], None
        while True:
            page = await admin_api.data(
                WALK % (type_name, name, order, name, order), {"id": parent["id"], "after": after}
            )
            forward += [e["cursor"] for e in page["node"]["forward"]["edges"]]
            if not page["node"]["forward"]["pageInfo"]["hasNextPage"]:
                break
            after = page["node"]["forward"]["pageInfo"]["endCursor"]
        backward, before = [], None
        while True:
            page = await admin_api.data(
                WALK % (type_name, name, order, name, order), {"id": parent["id"], "before": before}
            )
            backward = [e["cursor"] for e in page["node"]["backward"]["edges"]] + backward
            if not page["node"]["backward"]["pageInfo"]["hasPreviousPage"]:
                break
            before = page["node"]["backward"]["pageInfo"]["startCursor"]
        assert forward == expected == backward, (root, name, order)
        walked.add((type_name, name, bool(order)))
    # generated, not empty: the skills of a user and the users of a skill, by every order
    assert {("User", "skills", True), ("Skill", "users", True), ("Team", "users", False)} <= walked
