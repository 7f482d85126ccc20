"""Catalog lists one business unit at a time: the caller's own unless `businessUnitId` names
another, and every catalog object says which unit it belongs to ("Available" is in each)."""

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

IN_MY_UNIT = [p for p in Permission if p is not Permission.EXTERNAL_BUSINESS_UNIT_VIEW]
PRESENCES = """query($b: ID) { presenceStatuses(first: 100, businessUnitId: $b) {
  totalCount nodes { name businessUnit { id name } } } }"""


async def _two_units(app, db, external: bool) -> tuple[m.BusinessUnit, m.BusinessUnit]:
    """Unit A (the default, with its base statuses) and unit B, each with an "Available"
    status; alice of unit A sees other units when `external`."""
    a = await db.get(m.BusinessUnit, 1)
    b = await f.business_unit(db, "Unit B")
    await f.presence(db, b, "Available")
    granted = IN_MY_UNIT + ([Permission.EXTERNAL_BUSINESS_UNIT_VIEW] if external else [])
    profile = await f.security_profile(db, a, granted)
    await f.user(db, a, "alice", password="password-1234", passwords=app.state.passwords, profiles=[profile])
    await db.commit()
    return a, b


def _units(data: dict) -> set[tuple[str, str]]:
    return {(n["businessUnit"]["id"], n["businessUnit"]["name"]) for n in data["presenceStatuses"]["nodes"]}


def _available(data: dict) -> list[str]:
    return [n["name"] for n in data["presenceStatuses"]["nodes"] if n["name"] == "Available"]


async def test_an_administrator_of_several_units_lists_their_own_unit_by_default(app, api, admin, db):
    a, b = await _two_units(app, db, external=True)
    api.token = await api.login("alice", "password-1234")
    data = await api.data(PRESENCES)
    assert _available(data) == ["Available"]  # not twice
    assert _units(data) == {(f.gid("BusinessUnit", a.id), "Default")}


async def test_business_unit_id_lists_another_unit(app, api, admin, db):
    a, b = await _two_units(app, db, external=True)
    api.token = await api.login("alice", "password-1234")
    data = await api.data(PRESENCES, {"b": f.gid("BusinessUnit", b.id)})
    assert data["presenceStatuses"]["totalCount"] == 1
    assert _available(data) == ["Available"]
    assert _units(data) == {(f.gid("BusinessUnit", b.id), "Unit B")}


async def test_another_unit_lists_nothing_without_external_business_unit_view(app, api, admin, db):
    a, b = await _two_units(app, db, external=False)
    api.token = await api.login("alice", "password-1234")
    data = await api.data(PRESENCES, {"b": f.gid("BusinessUnit", b.id)})
    assert data["presenceStatuses"] == {"totalCount": 0, "nodes": []}
    own = await api.data(PRESENCES, {"b": f.gid("BusinessUnit", a.id)})
    assert own["presenceStatuses"]["totalCount"] == 5 and _units(own) == {
        (f.gid("BusinessUnit", a.id), "Default")
    }


async def test_every_catalog_list_takes_a_business_unit(app, api, admin, db):
    a, b = await _two_units(app, db, external=True)
    stream = await f.work_stream(db, b, "B chat")
    await f.named(db, m.Skill, b, "B skill", work_stream_id=stream.id)
    for model, name in [(m.Team, "B team"), (m.Queue, "B queue"), (m.UserProfile, "B profile")]:
        await f.named(db, model, b, name)
    await f.security_profile(db, b, [], name="B security")
    await db.commit()
    api.token = await api.login("alice", "password-1234")
    lists = ["teams", "queues", "workStreams", "userProfiles", "securityProfiles", "skills"]
    selection = " ".join(
        f"{n}(businessUnitId: $b) {{ nodes {{ name businessUnit {{ name }} }} }}" for n in lists
    )
    data = await api.data(f"query($b: ID) {{ {selection} }}", {"b": f.gid("BusinessUnit", b.id)})
    assert {n: [(x["name"], x["businessUnit"]["name"]) for x in data[n]["nodes"]] for n in lists} == {
        "teams": [("B team", "Unit B")],
        "queues": [("B queue", "Unit B")],
        "workStreams": [("B chat", "Unit B")],
        "userProfiles": [("B profile", "Unit B")],
        "securityProfiles": [("B security", "Unit B")],
        "skills": [("B skill", "Unit B")],
    }
    default = await api.data(f"query($b: ID) {{ {selection} }}")
    assert all(x["businessUnit"]["name"] == "Default" for n in lists for x in default[n]["nodes"])
    assert "B team" not in [x["name"] for x in default["teams"]["nodes"]]


async def test_a_bad_business_unit_id_is_refused(admin_api):
    body = await admin_api.post(PRESENCES, {"b": f.gid("Team", 1)})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "businessUnitId" in body["errors"][0]["message"]


async def test_the_business_units_of_a_page_of_teams_are_one_statement(admin_api, db, sql_counter):
    unit = await db.get(m.BusinessUnit, 1)
    for i in range(50):
        await f.named(db, m.Team, unit, f"Team {i:02}")
    await db.commit()
    query = "query($n: Int) { teams(first: $n) { nodes { name %s } } }"
    with sql_counter:
        await admin_api.data(query % "", {"n": 50})
    without = len(sql_counter.statements)
    with sql_counter:
        data = await admin_api.data(query % "businessUnit { name }", {"n": 50})
    assert [t["businessUnit"] for t in data["teams"]["nodes"]] == [{"name": "Default"}] * 50
    assert len(sql_counter.statements) == without + 1, sql_counter.statements


async def test_access_key_create_takes_an_access_key_create_input(admin_api, admin, db):
    user = await f.user(db, await db.get(m.BusinessUnit, 1), "keyholder")
    await db.commit()
    data = await admin_api.data(
        "mutation($i: AccessKeyCreateInput!) { accessKeyCreate(input: $i) "
        "{ secret accessKey { id } userErrors { code } } }",
        {"i": {"userId": f.gid("User", user.id)}},
    )
    assert data["accessKeyCreate"]["userErrors"] == [] and data["accessKeyCreate"]["secret"]
    body = await admin_api.post(
        "mutation($i: UserRefInput!) { accessKeyCreate(input: $i) { secret } }",
        {"i": {"userId": f.gid("User", user.id)}},
    )
    assert "errors" in body
