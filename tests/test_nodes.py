"""`nodes(ids:)`: many objects by their global IDs, each answered as `node(id:)` answers it; and
the `nodes` shortcut on the proficiency connections."""

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on User { username } ... on Queue { name } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_nodes_of_mixed_types_come_in_the_order_given(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    bob = await f.user(db, unit, "bob")
    queue = await f.queue(db, unit, "Sales")
    await db.commit()
    ids = [
        f.gid("Queue", queue.id),
        f.gid("User", bob.id),
        f.gid("BusinessUnit", unit.id),
        f.gid("Queue", queue.id),
    ]
    data = await admin_api.data(NODES, {"ids": ids})
    assert [n["__typename"] for n in data["nodes"]] == ["Queue", "User", "BusinessUnit", "Queue"]
    assert [n["id"] for n in data["nodes"]] == ids
    assert data["nodes"][0]["name"] == "Sales" and data["nodes"][1]["username"] == "bob"
    assert (await admin_api.data(NODES, {"ids": []}))["nodes"] == []


async def _error_of_node(api, id_):
    body = await api.post(NODE, {"id": id_})
    assert body["data"]["node"] is None
    return [(e["message"], e["extensions"]["code"]) for e in body.get("errors", [])]


async def test_bad_unknown_invisible_and_forbidden_ids_are_null_in_place_with_the_errors_node_gives(
    app, api, admin, db
):
    a = await db.get(m.BusinessUnit, 1)
    b = await f.business_unit(db, "Unit B")
    profile = await f.security_profile(db, a, [Permission.USERS_VIEW])  # no QUEUES_VIEW
    alice = await f.user(
        db, a, "alice", password="password-1234", passwords=app.state.passwords, profiles=[profile]
    )
    bob = await f.user(db, b, "bob")  # another unit: invisible to alice
    queue = await f.queue(db, a, "Sales")  # alice may not read queues
    await db.commit()
    api.token = await api.login("alice", "password-1234")
    alice_id = f.gid("User", alice.id)
    bad = {
        1: "not-an-id",
        2: f.gid("User", 9999),
        3: f.gid("User", bob.id),
        4: f.gid("Queue", queue.id),
        5: f.gid("Nothing", 1),
    }
    ids = [alice_id, *bad.values(), alice_id]
    body = await api.post(NODES, {"ids": ids})
    assert (
        body["data"]["nodes"][0]
        == body["data"]["nodes"][6]
        == {"__typename": "User", "id": alice_id, "username": "alice"}
    )
    assert body["data"]["nodes"][1:6] == [None] * 5
    errors = {e["path"][1]: e for e in body["errors"]}
    assert all(e["path"] == ["nodes", i] for i, e in errors.items())
    for i, id_ in bad.items():
        # the same error (message with the argument named, code) as node(id:), or none
        expected = [(m.replace("id:", "ids:", 1), code) for m, code in await _error_of_node(api, id_)]
        got = [(errors[i]["message"], errors[i]["extensions"]["code"])] if i in errors else []
        assert got == expected, (i, got, expected)
    assert {i: errors[i]["extensions"]["code"] for i in errors} == {
        1: "BAD_USER_INPUT",  # a malformed ID, as anywhere an argument does not parse
        4: "FORBIDDEN",
        5: "BAD_USER_INPUT",
    }
    assert errors[5]["extensions"]["argument"] == "ids"


async def test_nodes_needs_a_signed_in_caller(api):
    body = await api.post(NODES, {"ids": [f.gid("User", 1)]})
    assert body["data"] is None and body["errors"][0]["path"] == ["nodes"]


async def _viewer_id(api):
    return (await api.data("{ viewer { id } }"))["viewer"]["id"]


async def test_more_than_100_ids_are_refused(admin_api):
    ids = [await _viewer_id(admin_api)] * 101
    body = await admin_api.post(NODES, {"ids": ids})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "ids"}
    assert "at most 100" in error["message"]
    assert len((await admin_api.data(NODES, {"ids": ids[:100]}))["nodes"]) == 100


async def test_nodes_costs_as_a_list_of_its_ids(admin_api, settings):
    """A literal list costs its length; a variable, as many as the bound allows (100)."""
    per_user = 1 + 100 * (3 + 10)  # skills(first: 100) { edges { node { users(first: 10) { totalCount } } } }
    assert 2 * per_user < settings.max_query_cost < 100 * per_user
    selection = "... on User { skills(first: 100) { edges { node { users(first: 10) { totalCount } } } } }"
    one = await _viewer_id(admin_api)
    body = await admin_api.post(f'{{ nodes(ids: ["{one}", "{one}"]) {{ {selection} }} }}')
    assert "errors" not in body, body
    variable = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {selection} }} }}"
    body = await admin_api.post(variable, {"ids": [one]})
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", body
    assert body["errors"][0]["extensions"]["cost"] == 1 + 100 * per_user


async def test_fifty_users_are_one_statement(admin_api, db, sql_counter):
    unit = await db.get(m.BusinessUnit, 1)
    users = [await f.user(db, unit, f"u{i:02}") for i in range(50)]
    await db.commit()
    ids = [f.gid("User", u.id) for u in users]
    with sql_counter:
        one = await admin_api.data(NODES, {"ids": ids[:1]})
    baseline = len(sql_counter.statements)
    with sql_counter:
        data = await admin_api.data(NODES, {"ids": ids})
    assert [n["username"] for n in data["nodes"]] == [u.username for u in users]
    assert one["nodes"][0]["username"] == "u00"
    assert len(sql_counter.statements) == baseline, sql_counter.statements


async def test_nodes_of_proficiency_connections_are_the_edges_nodes(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    skills = [await f.named(db, m.Skill, unit, f"S{i}") for i in range(3)]
    users = [await f.user(db, unit, f"p{i}") for i in range(3)]
    for i, u in enumerate(users):
        for s in skills[: i + 1]:
            await db.execute(
                m.UserSkill.__table__.insert().values(user_id=u.id, skill_id=s.id, proficiency=1 + i)
            )
    await db.commit()
    data = await admin_api.data(
        "query($u: ID!, $s: ID!) { "
        "user(id: $u) { skills { nodes { id name } edges { node { id name } } } } "
        "node(id: $s) { ... on Skill { users(first: 2) { nodes { id username } edges { node { id username } } } } } "
        "users(first: 10) { nodes { skills { nodes { name } edges { node { name } } } } } }",
        {"u": f.gid("User", users[2].id), "s": f.gid("Skill", skills[0].id)},
    )
    user_skills = data["user"]["skills"]
    assert [n["name"] for n in user_skills["nodes"]] == ["S0", "S1", "S2"]
    assert user_skills["nodes"] == [e["node"] for e in user_skills["edges"]]
    skill_users = data["node"]["users"]
    assert len(skill_users["nodes"]) == 2
    assert skill_users["nodes"] == [e["node"] for e in skill_users["edges"]]
    for user in data["users"]["nodes"]:
        assert user["skills"]["nodes"] == [e["node"] for e in user["skills"]["edges"]]
    assert sum(len(u["skills"]["nodes"]) for u in data["users"]["nodes"]) == 6
