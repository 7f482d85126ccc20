"""Numbered pages (NICE's users and skills tables): `page: N` jumps with OFFSET over the
cursors' order, `pageInfo` tells `pageNumber` and `pageCount`, and the jump is bounded."""

from typing import Any

import pytest

from ccgraph.db import models as m
from ccgraph.services.pagination import MAX_NUMBERED_ROWS
from tests import factories as f

INFO = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor pageNumber pageCount }"
USERS = f"""query($first: Int, $page: Int, $after: String, $last: Int, $before: String,
    $filter: UserFilter, $order: UserOrder) {{
  list: users(first: $first, page: $page, after: $after, last: $last, before: $before,
    filter: $filter, orderBy: $order) {{
    {INFO} edges {{ cursor node {{ name: username }} }} }} }}"""
SKILLS = f"""query($first: Int, $page: Int, $after: String, $last: Int, $before: String) {{
  list: skills(first: $first, page: $page, after: $after, last: $last, before: $before) {{
    {INFO} edges {{ cursor node {{ name }} }} }} }}"""
TEAMS = SKILLS.replace("skills(", "teams(")


async def _agents(db: Any, n: int) -> list[str]:
    """`n` agents; with the administrator, the users list holds n + 1, by username."""
    unit = await db.get(m.BusinessUnit, 1)
    for i in range(n):
        await f.user(db, unit, f"agent{i:03}", last_name=f"Last{i % 7}")
    await db.commit()
    return ["admin", *(f"agent{i:03}" for i in range(n))]


async def _named(db: Any, model: Any, n: int) -> list[str]:
    unit = await db.get(m.BusinessUnit, 1)
    for i in range(n):
        await f.named(db, model, unit, f"{model.__name__} {i:03}")
    await db.commit()
    return [f"{model.__name__} {i:03}" for i in range(n)]


async def _lists(db: Any, query: str) -> list[str]:
    if query is USERS:
        return sorted(await _agents(db, 45))  # "admin" sorts before "agent..."
    return await _named(db, m.Skill if query is SKILLS else m.Team, 46)


def names(page: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in page["edges"]]


async def _page(api: Any, query: str, **variables: Any) -> dict[str, Any]:
    return (await api.data(query, variables))["list"]


@pytest.mark.parametrize("query", [USERS, SKILLS], ids=["users", "skills"])
async def test_pages_one_two_last_and_beyond_last(admin_api, db, query):
    everything = await _lists(db, query)
    assert len(everything) == 46
    first = await _page(admin_api, query, first=10, page=1)
    assert names(first) == everything[:10]
    assert first["totalCount"] == 46
    assert first["pageInfo"] | {"startCursor": None, "endCursor": None} == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
        "pageNumber": 1,
        "pageCount": 5,
    }
    second = await _page(admin_api, query, first=10, page=2)
    assert names(second) == everything[10:20]
    assert (second["pageInfo"]["pageNumber"], second["pageInfo"]["hasPreviousPage"]) == (2, True)
    last = await _page(admin_api, query, first=10, page=5)
    assert names(last) == everything[40:]
    assert last["pageInfo"]["hasNextPage"] is False
    assert (last["pageInfo"]["pageNumber"], last["pageInfo"]["pageCount"]) == (5, 5)
    beyond = await _page(admin_api, query, first=10, page=6)
    assert beyond["edges"] == [] and beyond["totalCount"] == 46
    assert beyond["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
        "pageNumber": 6,
        "pageCount": 5,
    }


async def test_page_size_is_first_or_20(admin_api, db):
    everything = await _named(db, m.Skill, 46)
    third = await _page(admin_api, SKILLS, page=3)
    assert names(third) == everything[40:]
    assert (third["pageInfo"]["pageNumber"], third["pageInfo"]["pageCount"]) == (3, 3)


@pytest.mark.parametrize("query", [USERS, SKILLS, TEAMS], ids=["users", "skills", "teams"])
async def test_page_n_is_the_page_n_minus_1_cursor_pages_walk_to(admin_api, db, query):
    await _lists(db, query)
    after = None
    for _ in range(3):  # pages 1, 2, 3
        walked = await _page(admin_api, query, first=7, after=after)
        after = walked["pageInfo"]["endCursor"]
    fourth = await _page(admin_api, query, first=7, after=after)
    jumped = await _page(admin_api, query, first=7, page=4)
    assert jumped["edges"] == fourth["edges"]  # the same rows, with the same cursors
    assert jumped["pageInfo"]["startCursor"] == fourth["pageInfo"]["startCursor"]
    # from a numbered page, the cursors go on as usual: next with after, previous with before
    fifth = await _page(admin_api, query, first=7, page=5)
    after_it = await _page(admin_api, query, first=7, after=jumped["pageInfo"]["endCursor"])
    assert after_it["edges"] == fifth["edges"]
    before_it = await _page(admin_api, query, last=7, before=jumped["pageInfo"]["startCursor"])
    assert before_it["edges"] == (await _page(admin_api, query, first=7, page=3))["edges"]
    assert (after_it["pageInfo"]["pageNumber"], after_it["pageInfo"]["pageCount"]) == (None, None)


async def test_a_filtered_and_ordered_list_is_numbered_in_its_own_order(admin_api, db):
    await _agents(db, 45)
    shown = {"filter": {"search": "agent0"}, "order": {"field": "LAST_NAME", "direction": "DESC"}}
    walked = await _page(admin_api, USERS, first=20, **shown)
    second = await _page(admin_api, USERS, first=20, after=walked["pageInfo"]["endCursor"], **shown)
    jumped = await _page(admin_api, USERS, first=20, page=2, **shown)
    assert jumped["edges"] == second["edges"]
    assert jumped["totalCount"] == 45  # agent000..agent044, not the administrator
    assert (jumped["pageInfo"]["pageNumber"], jumped["pageInfo"]["pageCount"]) == (2, 3)
    assert names(jumped) != sorted(names(jumped))  # by last name, not by username


async def test_page_fields_are_null_when_paging_by_cursor_and_in_nested_lists(admin_api, db):
    await f.organisation(db, 3)
    data = await admin_api.data(
        "{ users(first: 2) { pageInfo { pageNumber pageCount } edges { node {"
        " skills(first: 1) { pageInfo { pageNumber pageCount } } } } } }"
    )
    assert data["users"]["pageInfo"] == {"pageNumber": None, "pageCount": None}
    nested = [e["node"]["skills"]["pageInfo"] for e in data["users"]["edges"]]
    assert nested and all(p == {"pageNumber": None, "pageCount": None} for p in nested)


async def test_an_empty_list_has_no_pages(admin_api):
    page = await _page(admin_api, TEAMS, first=10, page=1)
    assert page["edges"] == [] and page["totalCount"] == 0
    assert (page["pageInfo"]["pageNumber"], page["pageInfo"]["pageCount"]) == (1, 0)
    assert page["pageInfo"]["hasPreviousPage"] is False


@pytest.mark.parametrize(
    ("variables", "argument", "mentions"),
    [
        ({"page": 2, "after": "x"}, "page", "after"),
        ({"page": 2, "before": "x"}, "page", "before"),
        ({"page": 2, "last": 10}, "page", "last"),
        ({"page": 0, "first": 10}, "page", "1 or more"),
        ({"page": -3}, "page", "1 or more"),
        ({"page": 1, "first": 0}, "first", "page"),
        ({"page": MAX_NUMBERED_ROWS // 100 + 1, "first": 100}, "page", "10,000"),
        ({"page": MAX_NUMBERED_ROWS // 20 + 1}, "page", "endCursor"),
    ],
)
@pytest.mark.parametrize("query", [USERS, SKILLS], ids=["users", "skills"])
async def test_refused_pages_name_the_argument(admin_api, query, variables, argument, mentions):
    body = await admin_api.post(query, variables)
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert mentions in error["message"]
    assert body["data"] is None


async def test_the_page_at_the_bound_is_served(admin_api, db):
    everything = await _named(db, m.Skill, 3)
    page = await _page(admin_api, SKILLS, first=100, page=MAX_NUMBERED_ROWS // 100)
    assert page["edges"] == [] and page["pageInfo"]["pageCount"] == 1
    assert names(await _page(admin_api, SKILLS, first=100, page=1)) == everything


async def test_the_count_is_made_once_and_a_numbered_page_costs_what_a_cursor_page_does(
    admin_api, db, sql_counter
):
    await f.organisation(db, 30)
    query = """query($page: Int, $after: String) { users(first: 10, page: $page, after: $after) {
      totalCount pageInfo { pageCount endCursor } edges { node { username team { name }
      skills(first: 3) { totalCount edges { proficiency node { name } } } } } } }"""
    with sql_counter:
        cursor_page = await admin_api.data(query, {"after": None})
    by_cursor = len(sql_counter.statements)
    with sql_counter:
        numbered = await admin_api.data(query, {"page": 2})
    # a total is counted, or read from the units' user counts (a list that limits only the unit)
    counts = [s for s in sql_counter.statements if "count(" in s.lower() or "unit_user_counts" in s]
    assert len(sql_counter.statements) == by_cursor, sql_counter.statements
    assert len(counts) == 2  # the users' total (for totalCount and pageCount), the skills' totals
    second = await admin_api.data(query, {"after": cursor_page["users"]["pageInfo"]["endCursor"]})
    assert numbered["users"]["edges"] == second["users"]["edges"]
    assert numbered["users"]["pageInfo"]["pageCount"] == 4  # 31 users


async def test_skipped_rows_count_in_the_query_cost(admin_api):
    far = "users(first: 20, page: 500) { totalCount }"
    one = await admin_api.post(f"{{ {far} }}")
    assert "errors" not in one
    many = " ".join(f"a{i}: {far}" for i in range(6))  # six times 9,980 skipped rows
    body = await admin_api.post(f"{{ {many} }}")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]
    near = " ".join(f"a{i}: users(first: 20, page: 1) {{ totalCount }}" for i in range(6))
    assert "errors" not in await admin_api.post(f"{{ {near} }}")
