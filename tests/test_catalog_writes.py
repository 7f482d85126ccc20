"""Create, update and delete of user profiles, queues, work streams, teams, presence statuses
and security profiles; each guarded by its own permission (see test_permissions)."""

import pytest
from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

ERRORS = "userErrors { field code message }"


async def audit_count(db) -> int:
    return (await db.execute(select(func.count()).select_from(m.AuditEvent))).scalar_one()


@pytest.mark.parametrize(
    ("kind", "field", "extra"),
    [
        ("team", "team", ""),
        ("queue", "queue", ""),
        ("workStream", "workStream", ", channel: CHAT"),
        ("presenceStatus", "presenceStatus", ", baseStatus: AWAY"),
        ("userProfile", "userProfile", ", capacity: 40"),
        ("securityProfile", "securityProfile", ", permissions: [USERS_VIEW]"),
    ],
)
async def test_create_rename_delete_each_kind_with_an_audit_event_each(admin_api, db, kind, field, extra):
    created = (
        await admin_api.data(
            f'mutation {{ {kind}Create(input: {{name: " Lunch Crew "{extra}}}) {{ {field} {{ id name version }} {ERRORS} }} }}'
        )
    )[f"{kind}Create"]
    assert created["userErrors"] == [] and created[field]["name"] == "Lunch Crew"
    pk, version = created[field]["id"], created[field]["version"]
    again = (
        await admin_api.data(
            f'mutation {{ {kind}Create(input: {{name: "lunch crew"{extra}}}) {{ {field} {{ id }} {ERRORS} }} }}'
        )
    )[f"{kind}Create"]
    assert [e["code"] for e in again["userErrors"]] == ["TAKEN"] and again[field] is None
    renamed = (
        await admin_api.data(
            f'mutation($id: ID!, $v: Int!) {{ {kind}Update(input: {{id: $id, version: $v, name: "Day Crew"}}) '
            f"{{ {field} {{ name version }} {ERRORS} }} }}",
            {"id": pk, "v": version},
        )
    )[f"{kind}Update"]
    assert renamed == {field: {"name": "Day Crew", "version": version + 1}, "userErrors": []}
    blank = (
        await admin_api.data(
            f'mutation($id: ID!, $v: Int!) {{ {kind}Update(input: {{id: $id, version: $v, name: "  "}}) {{ {ERRORS} }} }}',
            {"id": pk, "v": version + 1},
        )
    )[f"{kind}Update"]
    assert blank["userErrors"][0]["field"] == ["name"]
    deleted = (
        await admin_api.data(
            f"mutation($id: ID!) {{ {kind}Delete(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}", {"id": pk}
        )
    )[f"{kind}Delete"]
    assert deleted == {"deletedId": pk, "userErrors": []}
    actions = (await db.execute(select(m.AuditEvent.action).order_by(m.AuditEvent.id))).scalars().all()
    assert actions == [f"{kind}.create", f"{kind}.update", f"{kind}.delete"]


async def test_user_profile_with_queues_presence_and_concurrency(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    vip = await f.queue(db, unit, "VIP")
    chat = await f.work_stream(db, unit, "Chat")
    ready = await f.presence(db, unit, "Ready")
    other = await f.business_unit(db, "Other")
    foreign = await f.queue(db, other, "Foreign")
    await db.commit()
    q = """mutation($input: UserProfileCreateInput!) { userProfileCreate(input: $input) {
      userProfile { name capacity queues { name } workStreams { name } defaultPresence { name }
        channelConcurrency { channel value } } userErrors { field code } } }"""
    base = {
        "name": "SME",
        "capacity": 40,
        "queueIds": [f.gid("Queue", vip.id)],
        "workStreamIds": [f.gid("WorkStream", chat.id)],
        "defaultPresenceId": f.gid("PresenceStatus", ready.id),
        "channelConcurrency": [{"channel": "CHAT", "value": 3}],
    }
    bad = await admin_api.data(
        q, {"input": base | {"queueIds": [f.gid("Queue", foreign.id)], "capacity": -5}}
    )
    assert sorted(tuple(e["field"]) for e in bad["userProfileCreate"]["userErrors"]) == [
        ("capacity",),
        ("queueIds", "0"),
    ]
    good = (await admin_api.data(q, {"input": base}))["userProfileCreate"]
    assert good == {
        "userProfile": {
            "name": "SME",
            "capacity": 40,
            "queues": [{"name": "VIP"}],
            "workStreams": [{"name": "Chat"}],
            "defaultPresence": {"name": "Ready"},
            "channelConcurrency": [{"channel": "CHAT", "value": 3}],
        },
        "userErrors": [],
    }


async def test_deleting_a_queue_takes_it_off_users_and_profiles(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    vip = await f.queue(db, unit, "VIP")
    user = await f.user(db, unit, "gilda")
    await f.link(db, m.user_queues, user_id=user.id, queue_id=vip.id)
    await db.commit()
    await admin_api.data(
        "mutation($id: ID!) { queueDelete(input: {id: $id}) { deletedId } }", {"id": f.gid("Queue", vip.id)}
    )
    data = await admin_api.data(
        "query($id: ID!) { user(id: $id) { queues { name } } }", {"id": f.gid("User", user.id)}
    )
    assert data["user"]["queues"] == []


async def test_nobody_grants_a_permission_they_do_not_hold(app, api, admin, db):
    unit = await db.get(m.BusinessUnit, 1)
    editor = await f.security_profile(
        db,
        unit,
        [Permission.SECURITY_PROFILES_EDIT, Permission.SECURITY_PROFILES_VIEW, Permission.USERS_VIEW],
    )
    await f.user(
        db, unit, "editor", password="password-1234", passwords=app.state.passwords, profiles=[editor]
    )
    await db.commit()
    api.token = await api.login("editor", "password-1234")
    data = await api.data(
        'mutation { securityProfileCreate(input: {name: "Root", permissions: [USERS_VIEW, USERS_DELETE]}) '
        "{ securityProfile { id } userErrors { field code message } } }"
    )
    errors = data["securityProfileCreate"]["userErrors"]
    assert errors[0]["code"] == "PERMISSION_NOT_HELD" and "USERS_DELETE" in errors[0]["message"]
    ok = await api.data(
        'mutation { securityProfileCreate(input: {name: "Viewer", permissions: [USERS_VIEW], '
        "passwordMinLength: 14, passwordRequireDigit: true}) "
        "{ securityProfile { permissions passwordPolicy { minLength requireDigit } } userErrors { code } } }"
    )
    assert ok["securityProfileCreate"] == {
        "securityProfile": {
            "permissions": ["USERS_VIEW"],
            "passwordPolicy": {"minLength": 14, "requireDigit": True},
        },
        "userErrors": [],
    }


async def test_a_security_profile_in_use_cannot_be_deleted(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    held = await f.security_profile(db, unit, [Permission.USERS_VIEW])
    await f.user(db, unit, "holder", profiles=[held])
    await db.commit()
    data = await admin_api.data(
        "mutation($id: ID!) { securityProfileDelete(input: {id: $id}) "
        "{ deletedId userErrors { code message } } }",
        {"id": f.gid("SecurityProfile", held.id)},
    )
    assert data["securityProfileDelete"]["deletedId"] is None
    assert data["securityProfileDelete"]["userErrors"][0]["code"] == "IN_USE"


async def test_validate_only_writes_nothing(admin_api, db):
    before = await audit_count(db)
    data = await admin_api.data(
        'mutation { teamCreate(input: {name: "Ghost", validateOnly: true}) '
        "{ team { name } userErrors { code } } }"
    )
    assert data["teamCreate"] == {"team": {"name": "Ghost"}, "userErrors": []}
    assert (await db.execute(select(func.count()).select_from(m.Team))).scalar_one() == 0
    assert await audit_count(db) == before


async def test_objects_of_another_unit_cannot_be_changed(app, api, admin, db):
    unit = await db.get(m.BusinessUnit, 1)
    other = await f.business_unit(db, "Other")
    theirs = await f.queue(db, other, "Theirs")
    editor = await f.security_profile(db, unit, [Permission.QUEUES_EDIT])
    await f.user(
        db, unit, "editor", password="password-1234", passwords=app.state.passwords, profiles=[editor]
    )
    await db.commit()
    api.token = await api.login("editor", "password-1234")
    data = await api.data(
        'mutation($id: ID!, $v: Int!) { queueUpdate(input: {id: $id, version: $v, name: "Mine"}) '
        "{ queue { name } userErrors { code } } }",
        {"id": f.gid("Queue", theirs.id), "v": theirs.version},
    )
    assert data["queueUpdate"] == {"queue": None, "userErrors": [{"code": "NOT_FOUND"}]}
