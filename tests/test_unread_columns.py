"""A request's loaders leave unread the columns no field of its operation shows
(execution.columns). Generated from the schema: for every type that declares what its fields
show, each such field asked alone answers exactly what it answers when every field of the
type is asked (every column read), at the root and under a user; the data gives each of those
fields a value, so a column left out of its field's declaration fails here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import GraphQLObjectType, Undefined, get_named_type, is_leaf_type, is_non_null_type
from sqlalchemy import JSON, Boolean, Enum, Integer, String, cast, func, literal, true, update

from ccgraph.db import models as m
from ccgraph.db.base import UtcDateTime
from ccgraph.execution.columns import SHOWS, Shows
from tests import factories as f
from tests.conftest import StatementCounter
from tests.test_prefetch import SCHEMA, pages, selection

TYPES: dict[str, Shows] = {
    name: type_.extensions[SHOWS]
    for name, type_ in SCHEMA._schema.type_map.items()
    if SHOWS in type_.extensions
}
ROOTS = {node.name: root for root, node in pages(SCHEMA._schema).items()}
# The user's relations to the declaring types, and the selection that reaches the node.
UNDER_USER = {
    "team": ("Team", "team {{ id {} }}"),
    "userProfile": ("UserProfile", "userProfile {{ id {} }}"),
    "queues": ("Queue", "queues {{ id {} }}"),
    "workStreams": ("WorkStream", "workStreams {{ id {} }}"),
    "securityProfiles": ("SecurityProfile", "securityProfiles {{ id {} }}"),
    "manager": ("User", "manager {{ id {} }}"),
    "defaultPresence": ("PresenceStatus", "userProfile {{ defaultPresence {{ id {} }} }}"),
    "skills": ("Skill", "skills(first: 20) {{ edges {{ node {{ id {} }} }} }}"),
}
JSON_VALUES = {"refusal_timeouts": {"CHAT": 2}, "osh_max_contacts": {"CHAT": 3}, "wfo_phones": ["1001"]}


def takes_no_argument(field: Any) -> bool:
    return not any(is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values())


def part(type_: GraphQLObjectType, name: str) -> str:
    """A field of `type_` with what it shows below it."""
    named = get_named_type(type_.fields[name].type)
    return name if is_leaf_type(named) else f"{name} {selection(named)}"


def everything(type_: GraphQLObjectType, but: Iterable[str] = ()) -> str:
    """Every field of a type that needs no argument (every column is read), `but` those."""
    left_out = set(but)
    fields = type_.fields.items()
    return " ".join(part(type_, n) for n, fd in fields if takes_no_argument(fd) and n not in left_out)


def value_for(column: Any) -> Any:
    """A value of the column's type that no default gives."""
    kind = column.type
    if column.name in JSON_VALUES or isinstance(kind, JSON):
        return JSON_VALUES[column.name]
    if isinstance(kind, Enum):
        return list(kind.enum_class)[-1] if kind.enum_class else kind.enums[-1]
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 3
    if isinstance(kind, UtcDateTime):
        return datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert isinstance(kind, String), column
    unique = literal(column.name[:1]) + cast(column.table.c.id, String)
    return func.substr(unique, 1, kind.length) if kind.length else unique


async def shown_data(db: Any) -> None:
    """The organisation, a second unit with every feature on (the fields that read null in a
    unit without them), and a value in every declared column."""
    await f.organisation(db, 6)
    features = {
        "omnichannel_session_handling": True,
        "granular_osh": True,
        "wfo_enabled": True,
        "wfm_enabled": True,
        "max_release_preview_allowed": True,
        "crm_integration_enabled": True,
    }
    second = await f.business_unit(db, "Everything on", **features)
    odd = m.User.username.in_(["aaa-boss", *(f"agent{i:03}" for i in range(1, 6, 2))])
    await db.execute(update(m.User).where(odd).values(business_unit_id=second.id))
    for shows in {id(s.model): s for s in TYPES.values()}.values():
        table = shows.model.__table__
        declared = set(shows.unread).union(*shows.fields.values())
        values = {c: value_for(table.c[c]) for c in declared if c not in ("created_at", "updated_at")}
        not_admin = table.c.username != "admin" if shows.model is m.User else true()  # (signed in)
        await db.execute(update(table).where(not_admin).values(**values))
    await db.commit()


async def answers(api: Any, query: str) -> Any:
    body = await api.post(query)
    assert "errors" not in body, (query, body["errors"])
    return body["data"]


def test_every_declaration_names_a_field_of_its_type_and_a_column_no_key():
    assert set(TYPES) >= {"User", "Skill", "Queue", "WorkStream", "Team", "UserProfile"}
    for name, shows in TYPES.items():
        type_ = SCHEMA._schema.type_map[name]
        table = shows.model.__table__
        assert set(shows.fields) <= set(type_.fields), name
        for column in set(shows.unread).union(*shows.fields.values()):
            assert not table.c[column].primary_key and not table.c[column].foreign_keys, (name, column)


def shaped(template: Any, source: Any) -> Any:
    """What `source` answers for the fields `template` has."""
    if isinstance(template, dict):
        return {key: shaped(value, source[key]) for key, value in template.items()}
    if isinstance(template, list):
        assert len(template) == len(source)
        return [shaped(t, s) for t, s in zip(template, source, strict=True)]
    return source


def values_of(data: Any, field: str) -> list[Any]:
    """Every value of `field` in `data`."""
    if isinstance(data, list):
        return [v for item in data for v in values_of(item, field)]
    if isinstance(data, dict):
        return [v for k, item in data.items() for v in ([item] if k == field else values_of(item, field))]
    return []


async def each_field_alone(api: Any, type_name: str, query: str) -> None:
    """`query` (with `{}` where the fields go) answers for each field the type declares, with
    the type's undeclared fields but without its other declared ones, what it answers when
    every field of the type is asked: a column declared for a field that is not the only one
    to show it is read as null here."""
    type_ = SCHEMA._schema.type_map[type_name]
    declared = TYPES[type_name].fields
    full = await answers(api, query.format(everything(type_)))
    for field in declared:
        alone = await answers(api, query.format(everything(type_, but=set(declared) - {field})))
        assert alone == shaped(alone, full), field
        found = values_of(alone, field)
        assert any(v not in (None, [], "") for v in found), f"no {type_name}.{field} to compare: {found}"


@pytest.mark.parametrize("type_name", sorted(TYPES))
async def test_each_shown_field_alone_answers_as_with_every_column_read(app, db, admin_api, type_name):
    await shown_data(db)
    root = ROOTS[type_name]
    await each_field_alone(
        admin_api, type_name, f"{{{{ {root}(first: 10) {{{{ nodes {{{{ id {{}} }}}} }}}} }}}}"
    )


@pytest.mark.parametrize("relation", sorted(UNDER_USER))
async def test_each_shown_field_under_a_user_answers_as_with_every_column_read(app, db, admin_api, relation):
    """The loaders' paths: a relation of a page of users (by id, linked, paged per parent)."""
    await shown_data(db)
    type_name, path = UNDER_USER[relation]
    await each_field_alone(
        admin_api, type_name, f"{{{{ users(first: 10) {{{{ nodes {{{{ id {path} }}}} }}}} }}}}"
    )


async def test_a_page_reads_only_what_its_fields_show(app, db, admin_api):
    """The nested page of the benchmark reads no user's address, and reads it once asked."""
    await shown_data(db)
    counter = StatementCounter(app.state.engine)
    with counter:
        await answers(admin_api, "{ users(first: 10) { nodes { username team { name } } } }")
    page = next(s for s in counter.statements if "users.username" in s and "FROM users" in s)
    assert "NULL AS address_city" in page and "NULL AS description" in next(
        s for s in counter.statements if "FROM teams" in s
    )
    counter.statements.clear()
    with counter:
        await answers(admin_api, "{ users(first: 10) { nodes { username address { city } } } }")
    page = next(s for s in counter.statements if "users.username" in s and "FROM users" in s)
    assert "users.address_city" in page and "NULL AS address_city" not in page
    assert "NULL AS password_hash" in page  # the credentials are never read for a page
