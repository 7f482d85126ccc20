"""Business units (NICE 'Edit the Custom User Fields', 'Create a User' steps 6-11) and
tenancy: a user of unit A never sees an object of unit B."""

import base64

import pytest
from graphql import (
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Undefined
from sqlalchemy import select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.schema.schema import build_schema as build_ccgraph_schema
from tests import factories as f

schema = build_ccgraph_schema()


@pytest.fixture
def settings(settings):
    """The walk below asks for every connection four levels deep: far beyond the query limits."""
    return settings.with_(max_query_depth=100, max_query_cost=10**12, max_query_tokens=10**6)


TRIO = [
    Permission.EXTERNAL_BUSINESS_UNIT_VIEW,
    Permission.BUSINESS_UNIT_CUSTOM_FIELDS_EDIT,
    Permission.USERS_EDIT,
]
LABELS = """mutation($i: BusinessUnitCustomFieldsUpdateInput!) { businessUnitCustomFieldsUpdate(input: $i) {
  businessUnit { customFields { slot label } } userErrors { field code message } } }"""


async def unit_version(db) -> int:
    """The default unit's version as it is now (a business unit update must send it)."""
    version = (await db.execute(select(m.BusinessUnit.version).where(m.BusinessUnit.id == 1))).scalar_one()
    await db.commit()  # the read ends: the next one sees what the app wrote since
    return version


async def signed_in(app, api, db, name, permissions):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, permissions, name=f"{name} profile")
    await f.user(db, unit, name, password="password-1234", passwords=app.state.passwords, profiles=[profile])
    await db.commit()
    return await api.login(name, "password-1234")


@pytest.mark.parametrize("missing", TRIO)
async def test_each_permission_of_the_custom_fields_trio_is_needed(app, api, admin, db, missing):
    token = await signed_in(app, api, db, "editor", [p for p in TRIO if p is not missing])
    body = await api.post(
        LABELS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "labels": [{"slot": 1, "label": "Marital Status"}],
            }
        },
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert missing.value in body["errors"][0]["message"]
    assert (await db.get(m.BusinessUnit, 1, populate_existing=True)).custom_field_1_label == "Custom 1"


async def test_labels_show_on_users_at_once_and_a_rename_keeps_the_values(app, api, admin, db):
    token = await signed_in(
        app, api, db, "editor", TRIO + [Permission.USERS_VIEW, Permission.BUSINESS_UNITS_VIEW]
    )
    unit = await db.get(m.BusinessUnit, 1)
    gilda = await f.user(db, unit, "gilda", custom_1="Married", custom_3="Night")
    await db.commit()
    q = "query($id: ID!) { user(id: $id) { customFields { slot label value } } }"
    data = await api.data(
        LABELS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "labels": [{"slot": 1, "label": "  Marital Status "}, {"slot": 3, "label": "Shift"}],
            }
        },
        token=token,
    )
    assert data["businessUnitCustomFieldsUpdate"]["userErrors"] == []
    fields = (await api.data(q, {"id": f.gid("User", gilda.id)}, token=token))["user"]["customFields"]
    assert fields[0] == {"slot": 1, "label": "Marital Status", "value": "Married"}
    assert fields[2] == {"slot": 3, "label": "Shift", "value": "Night"}
    await api.data(
        LABELS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "labels": [{"slot": 1, "label": "Family"}],
            }
        },
        token=token,
    )
    fields = (await api.data(q, {"id": f.gid("User", gilda.id)}, token=token))["user"]["customFields"]
    assert fields[0] == {"slot": 1, "label": "Family", "value": "Married"}
    found = await api.data(
        '{ users(filter: {customFields: [{label: "shift", value: "NIGHT"}]}) '
        "{ edges { node { username } } } }",
        token=token,
    )
    assert [e["node"]["username"] for e in found["users"]["edges"]] == ["gilda"]


@pytest.mark.parametrize(
    ("labels", "field", "code"),
    [
        ([{"slot": 1, "label": "   "}], ["labels", "0", "label"], "INVALID"),
        ([{"slot": 1, "label": "x" * 51}], ["labels", "0", "label"], "INVALID"),
        ([{"slot": 6, "label": "Six"}], ["labels", "0", "slot"], "INVALID"),
        ([{"slot": 1, "label": "Same"}, {"slot": 2, "label": "same"}], ["labels", "0", "label"], "TAKEN"),
        ([{"slot": 2, "label": "Custom 1"}], ["labels", "0", "label"], "TAKEN"),
        ([{"slot": 1, "label": "A"}, {"slot": 1, "label": "B"}], ["labels", "1", "slot"], "DUPLICATE"),
    ],
)
async def test_label_rules(admin_api, db, labels, field, code):
    data = await admin_api.data(
        LABELS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "labels": labels,
            }
        },
    )
    errors = data["businessUnitCustomFieldsUpdate"]["userErrors"]
    assert any(e["field"] == field and e["code"] == code for e in errors), errors
    unit = await db.get(m.BusinessUnit, 1, populate_existing=True)
    assert unit.custom_field_labels() == [f"Custom {i}" for i in range(1, 6)]


SETTINGS = """mutation($i: BusinessUnitSettingsUpdateInput!) { businessUnitSettingsUpdate(input: $i) {
  businessUnit { features { omnichannelSessionHandling granularOsh wfo wfm maxReleasePreviewAllowed crmIntegration } }
  userErrors { field code } } }"""
READ = """query($id: ID!) { user(id: $id) { version wfoRecording { systemDomain } omnichannel { maxContacts { value } }
  channelSettings { concurrentChats } crmUsername maxReleasePreview wfmNotifications { email } } }"""


async def test_a_switched_off_feature_is_refused_on_write_and_reads_null_until_switched_on(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    unit.wfo_enabled = True
    unit.crm_integration_enabled = True
    user = await f.user(db, unit, "gilda", wfo_system_domain="corp", crm_username="g.crm", concurrent_chats=3)
    await db.commit()
    uid = f.gid("User", user.id)
    before = (await admin_api.data(READ, {"id": uid}))["user"]
    assert before["wfoRecording"] == {"systemDomain": "corp"} and before["crmUsername"] == "g.crm"
    assert before["channelSettings"]["concurrentChats"] == 3 and before["omnichannel"] is None
    data = await admin_api.data(
        SETTINGS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "features": {"wfo": False, "omnichannelSessionHandling": True},
            }
        },
    )
    assert data["businessUnitSettingsUpdate"]["businessUnit"]["features"]["wfo"] is False
    after = (await admin_api.data(READ, {"id": uid}))["user"]
    assert after["wfoRecording"] is None and after["channelSettings"]["concurrentChats"] is None
    assert after["omnichannel"] == {"maxContacts": []} and after["crmUsername"] == "g.crm"
    refused = await admin_api.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { field code message } } }",
        {"i": {"id": uid, "version": after["version"], "wfoRecording": {"systemDomain": "other"}}},
    )
    [error] = refused["userUpdate"]["userErrors"]
    assert error["code"] == "FEATURE_DISABLED" and "wfo" in error["message"]
    await admin_api.data(
        SETTINGS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "features": {"wfo": True},
            }
        },
    )
    assert (await admin_api.data(READ, {"id": uid}))["user"]["wfoRecording"] == {"systemDomain": "corp"}


async def test_granular_osh_needs_osh(admin_api, db):
    data = await admin_api.data(
        SETTINGS,
        {
            "i": {
                "businessUnitId": f.gid("BusinessUnit", 1),
                "version": await unit_version(db),
                "features": {"granularOsh": True},
            }
        },
    )
    assert data["businessUnitSettingsUpdate"]["userErrors"] == [{"field": ["granularOsh"], "code": "INVALID"}]


async def test_business_units_are_created_and_written_into_only_when_named(app, admin_api, api, db):
    created = await admin_api.data(
        'mutation { businessUnitCreate(input: {name: "Contoso Sales", features: {wfm: true}}) '
        "{ businessUnit { id name features { wfm } } userErrors { code } } }"
    )
    unit = created["businessUnitCreate"]["businessUnit"]
    assert unit["name"] == "Contoso Sales" and unit["features"]["wfm"] is True
    dup = await admin_api.data(
        'mutation { businessUnitCreate(input: {name: "contoso sales"}) { userErrors { code } } }'
    )
    assert dup["businessUnitCreate"]["userErrors"] == [{"code": "TAKEN"}]
    team = await admin_api.data(
        'mutation($b: ID!) { teamCreate(input: {name: "Sales Tier 1", businessUnitId: $b}) '
        "{ team { id } userErrors { code } } }",
        {"b": unit["id"]},
    )
    row = (await db.execute(select(m.Team).where(m.Team.name == "Sales Tier 1"))).scalar_one()
    assert team["teamCreate"]["userErrors"] == [] and row.business_unit_id != 1
    # without EXTERNAL_BUSINESS_UNIT_VIEW another unit cannot be named
    token = await signed_in(app, api, db, "local", [Permission.TEAMS_EDIT])
    body = await api.data(
        'mutation($b: ID!) { teamCreate(input: {name: "Sneaky", businessUnitId: $b}) '
        "{ team { id } userErrors { field code } } }",
        {"b": unit["id"]},
        token=token,
    )
    assert body["teamCreate"] == {
        "team": None,
        "userErrors": [{"field": ["businessUnitId"], "code": "NOT_FOUND"}],
    }


# --- the walk: every root field and every connection, as a user of unit A -----------------

GQL = schema._schema
MAX_DEPTH = 4


def selection(type_, depth: int) -> str:
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if named.name == "Node":  # any object by its ID: ask for the id and the type
        return "{ __typename ... on Node { id } }"
    if not isinstance(named, GraphQLObjectType):  # another interface (ChangeEvent): each of its types
        spreads = [f"... on {t.name} {selection(t, depth)}" for t in GQL.get_possible_types(named)]
        return "{ __typename " + " ".join(spreads) + " }"
    parts = ["__typename"]
    for name, field in named.fields.items():
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            if name == "id":
                parts.append("id")
            continue
        if depth >= MAX_DEPTH or any(
            is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values()
        ):
            continue
        args = "(first: 100)" if "first" in field.args else ""
        parts.append(f"{name}{args} {selection(field.type, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


def root_queries() -> list[str]:
    queries = []
    for name, field in GQL.query_type.fields.items():
        if any(is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values()):
            continue
        args = "(first: 100)" if "first" in field.args else ""
        queries.append(f"{{ {name}{args} {selection(field.type, 1)} }}")
    return queries


def ids_in(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found.add(item)
            else:
                ids_in(item, found)
    elif isinstance(value, list):
        for item in value:
            ids_in(item, found)
    return found


UNIT_OF = {
    "User": m.User,
    "Team": m.Team,
    "Queue": m.Queue,
    "WorkStream": m.WorkStream,
    "PresenceStatus": m.PresenceStatus,
    "Skill": m.Skill,
    "UserProfile": m.UserProfile,
    "SecurityProfile": m.SecurityProfile,
    "AuditEvent": m.AuditEvent,
}


async def unit_of(db, global_id: str) -> int:
    type_name, pk = base64.b64decode(global_id).decode().split(":")
    pk = int(pk)
    if type_name == "BusinessUnit":
        return pk
    if type_name in ("AccessKey", "Session"):
        model = m.AccessKey if type_name == "AccessKey" else m.Session
        row = await db.get(model, pk)
        return (await db.get(m.User, row.user_id)).business_unit_id
    return (await db.get(UNIT_OF[type_name], pk)).business_unit_id


async def test_a_user_of_unit_a_finds_no_object_of_unit_b_anywhere(app, admin_api, api, db):
    from ccgraph.services.demo import load_demo

    await load_demo(db)  # unit A ("Default") and unit B ("Contoso Sales")
    b = (await db.execute(select(m.BusinessUnit).where(m.BusinessUnit.name == "Contoso Sales"))).scalar_one()
    bid = f.gid("BusinessUnit", b.id)
    await db.commit()  # end this session's read, so that its next write is not from a stale snapshot
    for kind, extra in (
        ("team", ""),
        ("queue", ""),
        ("workStream", ", channel: CHAT"),
        ("skill", ""),
        ("userProfile", ""),
        ("securityProfile", ", permissions: [USERS_VIEW]"),
    ):
        created = await admin_api.data(
            f'mutation($b: ID!) {{ {kind}Create(input: {{name: "B {kind}", businessUnitId: $b{extra}}}) '
            "{ userErrors { code } } }",
            {"b": bid},
        )
        assert created[f"{kind}Create"]["userErrors"] == []
    token = await signed_in(
        app, api, db, "alice", [p for p in Permission if p is not Permission.EXTERNAL_BUSINESS_UNIT_VIEW]
    )
    seen: set[str] = set()
    queries = root_queries()
    assert len(queries) >= 12
    for query in queries:
        body = await api.post(query, token=token)
        assert "errors" not in body, (query[:200], body["errors"])
        ids_in(body["data"], seen)
    assert len(seen) > 30  # the walk reached plenty
    units = {await unit_of(db, gid) for gid in seen}
    assert units == {1}, units
