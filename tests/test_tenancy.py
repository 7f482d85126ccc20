"""Nobody sees another business unit's data without EXTERNAL_BUSINESS_UNIT_VIEW."""

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

EVERYTHING_IN_MY_UNIT = [p for p in Permission if p is not Permission.EXTERNAL_BUSINESS_UNIT_VIEW]


async def _two_units(app, db, external: bool = False):
    a = await db.get(m.BusinessUnit, 1)
    b = await f.business_unit(db, "Unit B")
    granted = EVERYTHING_IN_MY_UNIT + ([Permission.EXTERNAL_BUSINESS_UNIT_VIEW] if external else [])
    profile = await f.security_profile(db, a, granted)
    await f.user(db, a, "alice", password="password-1234", passwords=app.state.passwords, profiles=[profile])
    bob = await f.user(db, b, "bob")
    await f.queue(db, b, "B queue")
    await db.commit()
    return bob


async def test_a_user_of_unit_a_cannot_read_a_user_of_unit_b(app, api, admin, db):
    bob = await _two_units(app, db)
    api.token = await api.login("alice", "password-1234")
    bob_id = f.gid("User", bob.id)
    data = await api.data(
        "query($id: ID!) { node(id: $id) { id } user(id: $id) { id } "
        "users(first: 100) { totalCount edges { node { username } } } "
        "queues { edges { node { name } } } businessUnits { edges { node { name } } } }",
        {"id": bob_id},
    )
    assert data["node"] is None and data["user"] is None
    assert "bob" not in [e["node"]["username"] for e in data["users"]["edges"]]
    assert data["users"]["totalCount"] == 2  # admin and alice
    assert data["queues"]["edges"] == []
    assert [e["node"]["name"] for e in data["businessUnits"]["edges"]] == ["Default"]


async def test_filtering_by_another_unit_finds_nothing(app, api, admin, db):
    await _two_units(app, db)
    api.token = await api.login("alice", "password-1234")
    data = await api.data(
        "query($b: ID!) { users(filter: {businessUnitId: $b}) { totalCount } }",
        {"b": f.gid("BusinessUnit", 2)},
    )
    assert data["users"]["totalCount"] == 0


async def test_external_business_unit_view_sees_other_units(app, api, admin, db):
    bob = await _two_units(app, db, external=True)
    api.token = await api.login("alice", "password-1234")
    data = await api.data(
        "query($id: ID!) { user(id: $id) { username businessUnit { name } } }", {"id": f.gid("User", bob.id)}
    )
    assert data["user"] == {"username": "bob", "businessUnit": {"name": "Unit B"}}
