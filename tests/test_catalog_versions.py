"""Optimistic concurrency on every editable object, generated from the schema: for every
mutation whose input carries a `version`, two administrators read the object, the first
update wins and bumps the version, the second (from the old version, dry run or not) is a
CONFLICT on `version` that shows the object as it is now, and writes nothing. The base
presence statuses custom ones map to are read-only: not renamed, not remapped, not deleted."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_named_type, is_leaf_type, is_object_type
from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.db.base import Base
from ccgraph.enums import BaseStatus, Channel
from ccgraph.schema.schema import build_schema
from ccgraph.services.bootstrap import BASE_PRESENCES
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD

GQL = build_schema()._schema
NOT_COMPARED = {"sessions", "login_attempts"}  # signing in and reading touch these


def versioned() -> list[str]:
    """Every mutation whose input names the version it was made from."""
    return sorted(
        name
        for name, field in GQL.mutation_type.fields.items()
        if "input" in field.args and "version" in get_named_type(field.args["input"].type).fields
    )


VERSIONED = versioned()
# Two different changes for each mutation (the first one's is applied, the second's must not be).
CHANGES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "businessUnitSettingsUpdate": ({"features": {"wfm": True}}, {"features": {"wfo": True}}),
    "businessUnitCustomFieldsUpdate": (
        {"labels": [{"slot": 1, "label": "Shift"}]},
        {"labels": [{"slot": 1, "label": "Marital Status"}]},
    ),
    "userUpdate": ({"city": "Leeds"}, {"city": "York"}),
}
NAMED = ({"name": "First name"}, {"name": "Second name"})  # every other update renames
EXTRA = {"WorkStream": {"channel": Channel.CHAT}, "PresenceStatus": {"base_status": BaseStatus.AWAY}}


def test_every_editable_kind_takes_a_version():
    subjects = {subject(name)[0] for name in VERSIONED}
    assert subjects == {
        "BusinessUnit",
        "Team",
        "Queue",
        "WorkStream",
        "PresenceStatus",
        "UserProfile",
        "Skill",
        "SecurityProfile",
        "User",
    }
    assert {"businessUnitSettingsUpdate", "businessUnitCustomFieldsUpdate"} <= set(VERSIONED)
    for name in VERSIONED:  # every type that takes a version shows it
        assert "version" in GQL.type_map[subject(name)[0]].fields, name


def subject(mutation: str) -> tuple[str, str, str]:
    """The type a mutation changes, the payload field that holds it, and the input field naming it."""
    payload = get_named_type(GQL.mutation_type.fields[mutation].type)
    [(field, node)] = [
        (n, named.name)
        for n, x in payload.fields.items()
        if is_object_type(named := get_named_type(x.type)) and "Node" in [t.name for t in named.interfaces]
    ]
    given = get_named_type(GQL.mutation_type.fields[mutation].args["input"].type).fields
    id_field = "id" if "id" in given else f"{field}Id"
    assert id_field in given, mutation
    return node, field, id_field


def selection(type_name: str) -> str:
    """The object's own fields: its leaves and its plain nested values (not other nodes, not lists
    with arguments)."""

    def walk(type_: Any) -> str:
        parts = []
        for name, field in type_.fields.items():
            named = get_named_type(field.type)
            if field.args:
                continue
            if is_leaf_type(named):
                parts.append(name)
            elif is_object_type(named) and "Node" not in [i.name for i in named.interfaces]:
                inner = walk(named)
                if inner:
                    parts.append(f"{name} {{ {inner} }}")
        return " ".join(parts)

    return walk(GQL.type_map[type_name])


async def target(db: Any, type_name: str) -> str:
    """A fresh object of the kind (the default unit itself for a business unit)."""
    unit = await db.get(m.BusinessUnit, 1)
    if type_name == "BusinessUnit":
        row = unit
    elif type_name == "User":
        row = await f.user(db, unit, "target")
    else:
        extra = EXTRA.get(type_name, {})
        row = await f.named(db, getattr(m, type_name), unit, f"Contended {type_name}", **extra)
    await db.commit()  # the read ends too: the next one sees what the app writes
    return f.gid(type_name, row.id)


async def everything(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the update could write to (audit events included)."""
    state = {}
    for table in Base.metadata.sorted_tables:
        if table.name not in NOT_COMPARED:
            rows = (await db.execute(select(table))).all()
            state[table.name] = sorted(map(tuple, rows), key=repr)
    await db.commit()  # the read ends: the next one sees what the app wrote since
    return state


@pytest.mark.parametrize("mutation", VERSIONED)
async def test_of_two_updates_from_one_version_the_first_wins_the_second_conflicts_and_writes_nothing(
    api, admin, db, mutation
):
    type_name, field, id_field = subject(mutation)
    first_change, second_change = CHANGES.get(mutation, NAMED)
    gid = await target(db, type_name)
    shown = selection(type_name)
    read = f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {shown} }} }} }}"
    input_type = get_named_type(GQL.mutation_type.fields[mutation].args["input"].type).name
    update = (
        f"mutation($i: {input_type}!) {{ {mutation}(input: $i) "
        f"{{ {field} {{ {shown} }} userErrors {{ field code message }} }} }}"
    )
    first = await api.login("admin", ADMIN_PASSWORD)  # two administrators' sessions
    second = await api.login("admin", ADMIN_PASSWORD)
    version = (await api.data(read, {"id": gid}, token=first))["node"]["version"]
    assert (await api.data(read, {"id": gid}, token=second))["node"]["version"] == version

    won = (await api.data(update, {"i": {id_field: gid, "version": version, **first_change}}, token=first))[
        mutation
    ]
    assert won["userErrors"] == [] and won[field]["version"] == version + 1, won
    now = (await api.data(read, {"id": gid}, token=first))["node"]
    assert won[field] == now

    before = await everything(db)
    for dry in (True, False):
        stale = {id_field: gid, "version": version, "validateOnly": dry, **second_change}
        lost = (await api.data(update, {"i": stale}, token=second))[mutation]
        [error] = lost["userErrors"]
        assert (error["field"], error["code"]) == (["version"], "CONFLICT"), (dry, error)
        assert f"version {version + 1}" in error["message"]
        assert lost[field] == now, "the payload shows the object as it is now, at its current version"
        assert await everything(db) == before, f"a stale update wrote (validateOnly: {dry})"

    again = {id_field: gid, "version": version + 1, **first_change}  # what it already is
    unchanged = (await api.data(update, {"i": again}, token=second))[mutation]
    assert unchanged == {field: now, "userErrors": []}, "an update that changes nothing is not written"
    assert await everything(db) == before


# -- the base presence statuses ------------------------------------------------------------------

PRESENCE = "id name baseStatus isCustom version"
UPDATE = (
    "mutation($i: PresenceStatusUpdateInput!) { presenceStatusUpdate(input: $i) "
    f"{{ presenceStatus {{ {PRESENCE} }} userErrors {{ field code message }} }} }}"
)
DELETE = "mutation($i: DeleteInput!) { presenceStatusDelete(input: $i) { deletedId userErrors { field code message } } }"


async def base_presence(db: Any, name: str) -> m.PresenceStatus:
    row = (
        await db.execute(
            select(m.PresenceStatus).where(
                m.PresenceStatus.business_unit_id == 1, m.PresenceStatus.name == name
            )
        )
    ).scalar_one()
    await db.commit()
    return row


async def audit_count(db: Any) -> int:
    count = (await db.execute(select(func.count()).select_from(m.AuditEvent))).scalar_one()
    await db.commit()
    return count


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        ("Available", {"name": "Ready"}, "name"),
        ("Available", {"name": "available"}, "name"),
        ("Available", {"baseStatus": "AWAY"}, "baseStatus"),
        ("Offline", {"name": "Gone", "baseStatus": "AVAILABLE"}, "name"),
    ],
)
async def test_a_base_presence_status_is_neither_renamed_nor_remapped(admin_api, db, name, change, field):
    status = await base_presence(db, name)
    assert not status.is_custom
    gid = f.gid("PresenceStatus", status.id)
    events = await audit_count(db)
    for dry in (True, False):
        data = await admin_api.data(
            UPDATE, {"i": {"id": gid, "version": status.version, "validateOnly": dry, **change}}
        )
        refused = data["presenceStatusUpdate"]
        assert [field] in [e["field"] for e in refused["userErrors"]], (dry, refused)
        assert {e["code"] for e in refused["userErrors"]} == {"READ_ONLY"}, (dry, refused)
        assert name in refused["userErrors"][0]["message"]
        assert refused["presenceStatus"] is None
    row = await base_presence(db, name)
    assert (row.name, row.base_status, row.version) == (name, BASE_PRESENCES[name], status.version)
    assert await audit_count(db) == events


async def test_every_base_presence_status_is_kept_from_deletion(admin_api, db):
    events = await audit_count(db)
    for name in BASE_PRESENCES:
        gid = f.gid("PresenceStatus", (await base_presence(db, name)).id)
        for dry in (True, False):
            refused = (await admin_api.data(DELETE, {"i": {"id": gid, "validateOnly": dry}}))[
                "presenceStatusDelete"
            ]
            assert refused["deletedId"] is None, (name, dry)
            [error] = refused["userErrors"]
            assert (error["field"], error["code"]) == (["id"], "READ_ONLY"), (name, dry, error)
    kept = (
        await db.execute(
            select(m.PresenceStatus.name).where(
                m.PresenceStatus.business_unit_id == 1, m.PresenceStatus.is_custom.is_(False)
            )
        )
    ).scalars()
    assert set(kept) == set(BASE_PRESENCES)
    assert await audit_count(db) == events


async def test_a_base_presence_status_given_as_it_is_is_accepted_and_not_written(admin_api, db):
    status = await base_presence(db, "Busy")
    same = {
        "id": f.gid("PresenceStatus", status.id),
        "version": status.version,
        "name": "Busy",
        "baseStatus": "BUSY",
    }
    data = (await admin_api.data(UPDATE, {"i": same}))["presenceStatusUpdate"]
    assert data["userErrors"] == []
    assert data["presenceStatus"] == {
        "id": same["id"],
        "name": "Busy",
        "baseStatus": "BUSY",
        "isCustom": False,
        "version": status.version,
    }


async def test_a_custom_presence_status_is_renamed_remapped_and_deleted_as_before(admin_api, db):
    created = (
        await admin_api.data(
            'mutation { presenceStatusCreate(input: {name: "Lunch", baseStatus: AWAY}) '
            f"{{ presenceStatus {{ {PRESENCE} }} userErrors {{ code }} }} }}"
        )
    )["presenceStatusCreate"]["presenceStatus"]
    assert created["isCustom"] is True
    changed = (
        await admin_api.data(
            UPDATE,
            {
                "i": {
                    "id": created["id"],
                    "version": created["version"],
                    "name": "Break",
                    "baseStatus": "BUSY_DND",
                }
            },
        )
    )["presenceStatusUpdate"]
    assert changed["userErrors"] == []
    assert changed["presenceStatus"] == created | {
        "name": "Break",
        "baseStatus": "BUSY_DND",
        "version": created["version"] + 1,
    }
    deleted = (await admin_api.data(DELETE, {"i": {"id": created["id"]}}))["presenceStatusDelete"]
    assert deleted == {"deletedId": created["id"], "userErrors": []}
