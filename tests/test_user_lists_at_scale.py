"""User lists at contact-centre scale (issue 23): the search goes through an index (SQLite FTS5
trigrams, PostgreSQL pg_trgm) and finds exactly what the substring rule finds; triggers keep
that index and each unit's user count in step with every write; each order of the list has
its index; SQLite's planner statistics are refreshed at start-up and after bulk writes."""

from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ccgraph.db import models as m
from ccgraph.db.engine import BULK_ROWS
from ccgraph.db.models.business_units import unit_user_counts
from ccgraph.db.search import contains_ci, users_contain
from ccgraph.enums import Permission
from ccgraph.services.users.queries import UserOrderField
from tests import factories as f

pytestmark = pytest.mark.transport

SEARCH = (
    "query($s: String) { users(first: 100, filter: {search: $s}) { totalCount edges { node { username } } } }"
)
PEOPLE = [  # username, first name, last name
    ("gilda.moss", "Gilda", "Moss"),
    ("ravi.kumar", "Ravi", "Kumar"),
    ("zoe.brandt", "Zoë", "Brandt"),
    ("elise.roux", "ÉLISE", "Roux"),
    ("pct.user", "Hundred", "100% Sure"),
    ("under.score", "Under_Score", "O'Neil"),
    ("back.slash", "Back", "Sla\\sh"),
    ("quote.user", 'Say "Hi"', "Quotes"),
    ("space.user", "Mary Ann", "De La Cruz"),
]
TERMS = [
    "moss", "MOSS", "  Moss  ", "o", "os", "ss", "zz", "%", "_", "0%", "100%", "r_s", "_sc",
    "\\", "a\\s", "'", "o'n", '"hi"', "ë", "zoë", "ÉLI", "éli", "y an", "de la", "example.com",
    "@example", "nobody-matches-this",
]  # fmt: skip


async def _people(db) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    for username, first, last in PEOPLE:
        await f.user(db, unit, username, first_name=first, last_name=last)
    await db.commit()


async def _rule(db, term: str) -> set[str]:
    """The users the plain substring rule finds, with no index (what search did before)."""
    columns = (m.User.username, m.User.first_name, m.User.last_name, m.User.email)
    found = await db.scalars(select(m.User.username).where(contains_ci(term, *columns)))
    return set(found)


@pytest.mark.parametrize("term", TERMS)
async def test_the_indexed_search_finds_what_the_substring_rule_finds(admin_api, db, term):
    await _people(db)
    expected = await _rule(db, term)
    data = (await admin_api.data(SEARCH, {"s": term}))["users"]
    assert {e["node"]["username"] for e in data["edges"]} == expected
    assert data["totalCount"] == len(expected)


async def test_the_terms_tried_find_something_and_the_rule_is_case_insensitive(admin_api, db):
    await _people(db)
    assert await _rule(db, "MOSS") == await _rule(db, "moss") == {"gilda.moss"}
    assert await _rule(db, "100%") == {"pct.user"}  # the term's % is a character, not a wildcard
    assert await _rule(db, "r_s") == {"under.score"}  # and so is its _
    assert await _rule(db, "o'n") == {"under.score"}
    assert await _rule(db, "de la") == {"space.user"}
    assert {username for username, _, _ in PEOPLE} <= await _rule(db, "@example")


def test_a_term_of_three_characters_or_more_is_looked_up_in_the_index_on_sqlite():
    for term, indexed in (("moss", True), ("abc", True), ("ab", False), (" a ", False), ("ab ", False)):
        condition = users_contain(term)
        on_sqlite = str(condition.compile(dialect=sqlite.dialect()))
        assert ("users_fts MATCH" in on_sqlite) is indexed, (term, on_sqlite)
        on_postgresql = str(condition.compile(dialect=postgresql.dialect()))
        assert "users_fts" not in on_postgresql and "lower(users.username) LIKE" in on_postgresql


def test_the_search_is_cached_with_its_term():
    """The statement cache keys on the search's shape, its values are bound per request."""
    one, other = users_contain("moss"), users_contain("kumar")
    assert one._generate_cache_key().key == other._generate_cache_key().key
    assert [b.value for b in one._generate_cache_key().bindparams] != [
        b.value for b in other._generate_cache_key().bindparams
    ]


def _new(username: str, profile: m.SecurityProfile, **names: str) -> dict[str, Any]:
    """A UserCreateInput."""
    password = "long-enough-password"
    return {
        "username": username,
        "firstName": names.get("firstName", "Bulk"),
        "lastName": names.get("lastName", username.title()),
        "email": names.get("email", f"{username}@example.com"),
        "password": password,
        "passwordConfirmation": password,
        "securityProfileIds": [f.gid("SecurityProfile", profile.id)],
    }


async def _profile(db, permissions: list[Permission]) -> m.SecurityProfile:
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, permissions)
    await db.commit()
    return profile


async def test_a_user_written_through_the_api_is_found_then_not(admin_api, db):
    profile = await _profile(db, [Permission.USERS_VIEW])
    created = await admin_api.data(
        "mutation($i: UserCreateInput!) { userCreate(input: $i) { user { id version } userErrors { code } } }",
        {
            "i": _new(
                "quentin.xylo", profile, firstName="Quentin", lastName="Xylophone", email="qx@example.org"
            )
        },
    )
    user = created["userCreate"]["user"]
    assert created["userCreate"]["userErrors"] == []

    async def found(term: str) -> list[str]:
        data = (await admin_api.data(SEARCH, {"s": term}))["users"]
        return [e["node"]["username"] for e in data["edges"]]

    assert await found("ylophon") == ["quentin.xylo"]
    assert await found("qx@example.org") == ["quentin.xylo"]
    updated = await admin_api.data(
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
        {"i": {"id": user["id"], "version": user["version"], "lastName": "Marimba"}},
    )
    assert updated["userUpdate"]["userErrors"] == []
    assert await found("ylophon") == []
    assert await found("marimb") == ["quentin.xylo"]
    assert await found("quentin") == ["quentin.xylo"]  # the columns not changed are still found
    deleted = await admin_api.data(
        "mutation($i: UserIdInput!) { userDelete(input: $i) { userErrors { code } } }",
        {"i": {"id": user["id"]}},
    )
    assert deleted["userDelete"]["userErrors"] == []
    assert await found("marimb") == []
    assert await found("quentin") == []


async def _counts(db) -> tuple[dict[int, int], dict[int, int]]:
    """(each unit's users as counted, as kept in unit_user_counts), units without users left out."""
    unit = m.User.business_unit_id
    counted = dict((await db.execute(select(unit, func.count()).group_by(unit))).all())
    kept = {u: n for u, n in (await db.execute(select(unit_user_counts))).all() if n}
    await db.commit()
    return counted, kept


async def test_each_unit_s_user_count_follows_every_write(admin_api, db):
    profile = await _profile(db, [Permission.USERS_VIEW])
    other = await f.business_unit(db, "Unit B")
    await db.commit()
    counted, kept = await _counts(db)
    assert kept == counted == {1: 1}  # the administrator
    many = [_new(f"bulk{i}", profile) for i in range(5)]
    data = await admin_api.data(
        "mutation($i: UsersCreateInput!) { usersCreate(input: $i) { results { user { id } } } }",
        {"i": {"users": many}},
    )
    assert await _counts(db) == ({1: 6}, {1: 6})
    first = data["usersCreate"]["results"][0]["user"]["id"]
    await admin_api.data(
        "mutation($i: UserIdInput!) { userDelete(input: $i) { userErrors { code } } }", {"i": {"id": first}}
    )
    assert await _counts(db) == ({1: 5}, {1: 5})
    # a user moved to another unit (no use case does it; the count follows whatever writes)
    await db.execute(update(m.User).where(m.User.username == "bulk1").values(business_unit_id=other.id))
    await db.commit()
    assert await _counts(db) == ({1: 4, other.id: 1}, {1: 4, other.id: 1})


async def test_an_unfiltered_total_is_read_from_the_unit_s_count_not_counted(
    app, api, admin, db, sql_counter
):
    profile = await _profile(db, [Permission.USERS_VIEW])
    unit = await db.get(m.BusinessUnit, 1)
    other = await f.business_unit(db, "Unit B")
    await f.user(
        db, unit, "viewer", password="password-1234", passwords=app.state.passwords, profiles=[profile]
    )
    for i in range(3):
        await f.user(db, other, f"elsewhere{i}")
    await db.commit()
    api.token = await api.login("viewer", "password-1234")
    with sql_counter:
        data = await api.data("{ users(first: 1) { totalCount } }")
    assert data["users"]["totalCount"] == 2  # the administrator and the viewer, not unit B's three
    (total,) = [s for s in sql_counter.statements if "unit_user_counts" in s]
    assert "count(" not in total.lower()
    with sql_counter:
        data = await api.data('{ users(first: 1, filter: {search: "view"}) { totalCount } }')
    assert data["users"]["totalCount"] == 1
    assert not [s for s in sql_counter.statements if "unit_user_counts" in s]  # a filter: rows are counted


def test_every_order_of_the_users_list_has_its_index():
    indexed = {tuple(c.name for c in ix.columns) for ix in m.User.__table__.indexes}
    for field in UserOrderField:
        assert ("business_unit_id", field.value, "id") in indexed, field


class _Statements:
    """The SQL statements a request runs, with their parameters."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.seen = engine.sync_engine, []

    def _keep(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.seen.append((statement, parameters))

    def __enter__(self) -> "_Statements":
        event.listen(self.engine, "before_cursor_execute", self._keep)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._keep)


@pytest.mark.parametrize("field", list(UserOrderField))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_a_scoped_caller_s_page_is_read_in_index_order_not_sorted(
    app, api, admin, db, field, direction
):
    profile = await _profile(db, [Permission.USERS_VIEW])
    unit = await db.get(m.BusinessUnit, 1)
    await f.user(
        db, unit, "viewer", password="password-1234", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    api.token = await api.login("viewer", "password-1234")
    with _Statements(app.state.engine) as statements:
        await api.data(
            f"{{ users(first: 10, orderBy: {{field: {field.name}, direction: {direction}}}) {{ totalCount }} }}"
        )
    [(page, parameters)] = [(s, p) for s, p in statements.seen if "ORDER BY" in s and "FROM users" in s]
    async with app.state.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " / ".join(
                r[3] for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {page}", parameters)
            )
            assert f"INDEX ix_users_business_unit_id_{field.value} " in plan and "TEMP B-TREE" not in plan, (
                plan
            )
        else:  # a few rows: a sequential scan would do, unless it is ruled out
            await conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " / ".join(r[0] for r in await conn.exec_driver_sql(f"EXPLAIN {page}", parameters))
            assert f"ix_users_business_unit_id_{field.value} " in plan and "Sort" not in plan, plan


async def test_sqlite_statistics_are_gathered_at_start_up_and_after_a_bulk_write(
    app, admin_api, db, settings
):
    if not settings.is_sqlite:
        pytest.skip("SQLite: PostgreSQL's autovacuum analyses tables as they change")

    async def users_counted_by_statistics() -> int:
        stat = await db.scalar(text("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_users_business_unit_id'"))
        await db.commit()
        return int(stat.split()[0]) if stat else 0

    assert await db.scalar(text("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")) == 1
    assert await users_counted_by_statistics() <= 1
    profile = await _profile(db, [Permission.USERS_VIEW])
    many = [_new(f"bulk{i}", profile) for i in range(BULK_ROWS)]
    mutation = "mutation($i: UsersCreateInput!) { usersCreate(input: $i) { userErrors { code } } }"
    assert (await admin_api.data(mutation, {"i": {"users": many}}))["usersCreate"]["userErrors"] == []
    assert await users_counted_by_statistics() >= BULK_ROWS
