"""Connections: first/after/last/before, totalCount, at most 100 a page, stable cursors."""

import pytest

from ccgraph.db import models as m
from tests import factories as f

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  teams(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } } } }"""


async def _teams(db, n: int) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    for i in range(n):
        await f.named(db, m.Team, unit, f"Team {i:03}")
    await db.commit()


async def test_forward_pages_cover_everything_once(admin_api, db):
    await _teams(db, 25)
    seen, after = [], None
    while True:
        data = (await admin_api.data(PAGE, {"first": 10, "after": after}))["teams"]
        assert data["totalCount"] == 25
        seen += [e["node"]["name"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == [f"Team {i:03}" for i in range(25)]


async def test_backward_pages_with_last_and_before(admin_api, db):
    await _teams(db, 25)
    data = (await admin_api.data(PAGE, {"last": 10}))["teams"]
    assert [e["node"]["name"] for e in data["edges"]] == [f"Team {i:03}" for i in range(15, 25)]
    assert data["pageInfo"]["hasPreviousPage"] is True
    before = data["pageInfo"]["startCursor"]
    data = (await admin_api.data(PAGE, {"last": 10, "before": before}))["teams"]
    assert [e["node"]["name"] for e in data["edges"]] == [f"Team {i:03}" for i in range(5, 15)]
    assert data["pageInfo"]["hasNextPage"] is True


async def test_cursors_stay_valid_when_rows_are_inserted(admin_api, db):
    await _teams(db, 20)
    first = (await admin_api.data(PAGE, {"first": 10}))["teams"]
    unit = await db.get(m.BusinessUnit, 1)
    await f.named(db, m.Team, unit, "Team 000a")  # sorts into the page already seen
    await db.commit()
    rest = (await admin_api.data(PAGE, {"first": 10, "after": first["pageInfo"]["endCursor"]}))["teams"]
    assert [e["node"]["name"] for e in rest["edges"]] == [f"Team {i:03}" for i in range(10, 20)]


@pytest.mark.parametrize("args", [{"first": 101}, {"last": 101}, {"first": -1}])
async def test_page_size_is_capped_at_100(admin_api, args):
    body = await admin_api.post(PAGE, args)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] in args
    assert "100" in error["message"]


async def test_a_malformed_cursor_is_a_clear_error(admin_api):
    body = await admin_api.post(PAGE, {"first": 5, "after": "not-a-cursor"})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


async def test_user_search_and_filters(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    team = await f.named(db, m.Team, unit, "Blue")
    await f.user(db, unit, "gilda.moss", first_name="Gilda", last_name="Moss", team_id=team.id)
    await f.user(db, unit, "ravi.kumar", first_name="Ravi", last_name="Kumar", enabled=False)
    await db.commit()
    q = "query($f: UserFilter) { users(filter: $f) { totalCount edges { node { username } } } }"
    names = lambda d: [e["node"]["username"] for e in d["users"]["edges"]]  # noqa: E731
    assert names(await admin_api.data(q, {"f": {"search": "MOSS"}})) == ["gilda.moss"]
    assert names(await admin_api.data(q, {"f": {"enabled": False}})) == ["ravi.kumar"]
    assert names(await admin_api.data(q, {"f": {"teamId": f.gid("Team", team.id)}})) == ["gilda.moss"]
    body = await admin_api.post(q, {"f": {"teamId": f.gid("Queue", 1)}})
    assert body["errors"][0]["extensions"]["argument"] == "filter.teamId"


async def test_users_order_by_last_name_descending(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    for name in ("Adams", "Zhou", "Moss"):
        await f.user(db, unit, name.lower(), last_name=name)
    await db.commit()
    data = await admin_api.data(
        '{ users(filter: {search: "example"}, orderBy: {field: LAST_NAME, direction: DESC}) '
        "{ edges { node { lastName } } } }"
    )
    assert [e["node"]["lastName"] for e in data["users"]["edges"]] == ["Zhou", "Moss", "Adams"]
