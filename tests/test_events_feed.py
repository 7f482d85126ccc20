"""The events feed: the audit trail followed as a log without gaps (`committed_after`), told only
to whom may read what each event is about (`may_see`), and the `events` query built on them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.engine import session_factory
from ccgraph.enums import Permission as P
from ccgraph.services.events import Event, EventType, committed_after, may_see

# -- may_see: one rule for the feed, subscriptions and webhooks ------------------------------

UNIT, OTHER_UNIT = 1, 2


def principal(*permissions: P, user_id: int = 7, unit: int = UNIT, **kw: Any) -> Principal:
    return Principal(
        user_id=user_id, username="u", business_unit_id=unit, permissions=frozenset(permissions), **kw
    )


def event(kind: EventType, subject_id: int | None = 42, unit: int = UNIT) -> Event:
    return Event(
        id=1,
        type=kind,
        occurred_at=datetime.now(UTC),
        business_unit_id=unit,
        subject_id=subject_id,
        changes={},
        actor_user_id=None,
        request_id=None,
    )


def test_a_user_event_is_seen_with_users_view_in_the_same_unit():
    assert may_see(principal(P.USERS_VIEW), event(EventType.USER_UPDATED))


def test_a_user_event_is_not_seen_without_users_view():
    assert not may_see(principal(P.QUEUES_VIEW, P.USERS_EDIT), event(EventType.USER_UPDATED))


def test_a_user_event_of_another_unit_is_not_seen():
    assert not may_see(principal(P.USERS_VIEW), event(EventType.USER_CREATED, unit=OTHER_UNIT))


def test_external_business_unit_view_sees_other_units_events():
    seer = principal(P.USERS_VIEW, P.EXTERNAL_BUSINESS_UNIT_VIEW)
    assert may_see(seer, event(EventType.USER_DELETED, unit=OTHER_UNIT))


def test_a_user_is_told_of_changes_to_themselves_without_users_view():
    me = principal(user_id=42)
    assert may_see(me, event(EventType.USER_CREDENTIALS_CHANGED, subject_id=42))
    assert not may_see(me, event(EventType.USER_CREDENTIALS_CHANGED, subject_id=43))


def test_a_catalog_event_needs_the_view_permission_of_its_kind():
    queues = principal(P.QUEUES_VIEW)
    assert may_see(queues, event(EventType.QUEUE_UPDATED))
    assert not may_see(queues, event(EventType.SKILL_UPDATED))
    assert not may_see(queues, event(EventType.QUEUE_UPDATED, unit=OTHER_UNIT))
    assert may_see(principal(P.SECURITY_PROFILES_VIEW), event(EventType.SECURITY_PROFILE_CREATED))
    assert not may_see(principal(P.USERS_VIEW), event(EventType.USER_PROFILE_CREATED))
    assert may_see(principal(P.USER_PROFILES_VIEW), event(EventType.USER_PROFILE_CREATED))


def test_a_business_unit_event_needs_business_units_view_and_the_unit():
    assert may_see(principal(P.BUSINESS_UNITS_VIEW), event(EventType.BUSINESS_UNIT_UPDATED, subject_id=UNIT))
    assert not may_see(principal(P.TEAMS_VIEW), event(EventType.BUSINESS_UNIT_UPDATED, subject_id=UNIT))
    assert not may_see(
        principal(P.BUSINESS_UNITS_VIEW),
        event(EventType.BUSINESS_UNIT_CREATED, subject_id=9, unit=OTHER_UNIT),
    )


def test_a_caller_who_must_change_their_password_is_told_of_themselves_only():
    pending = principal(P.USERS_VIEW, P.QUEUES_VIEW, user_id=42, must_change_password=True)
    assert may_see(pending, event(EventType.USER_UPDATED, subject_id=42))
    assert not may_see(pending, event(EventType.USER_UPDATED, subject_id=43))
    assert not may_see(pending, event(EventType.QUEUE_UPDATED))


def test_nobody_signed_in_sees_nothing():
    assert not may_see(None, event(EventType.QUEUE_UPDATED))


# -- committed_after: the log, in order, without gaps ----------------------------------------
# (no GraphQL here: `transport` spares them the reference executor's run)


async def write_event(session: AsyncSession, unit_id: int, label: str) -> int:
    row = m.AuditEvent(
        business_unit_id=unit_id,
        action="queue.update",
        target_type="Queue",
        target_id=1,
        target_label=label,
        changes={"name": {"before": "a", "after": label}},
    )
    session.add(row)
    await session.flush()
    return row.id


async def unit_of(db: AsyncSession) -> int:
    return (await db.execute(select(m.BusinessUnit.id).order_by(m.BusinessUnit.id))).scalars().first()


@pytest.mark.transport
async def test_committed_after_reads_after_the_cursor_in_order_a_page_at_a_time(db, admin):
    unit = await unit_of(db)
    start = max([r.id for r in await committed_after(db, 0, 1000)], default=0)
    await db.rollback()
    ids = []
    for n in range(5):
        ids.append(await write_event(db, unit, f"q{n}"))
    await db.commit()

    first = await committed_after(db, start, 3)
    rest = await committed_after(db, first[-1].id, 3)
    assert [r.id for r in first + rest] == ids
    assert [r.target_label for r in first] == ["q0", "q1", "q2"]
    assert await committed_after(db, ids[-1], 3) == []


@pytest.mark.transport
async def test_an_uncommitted_write_is_not_read(app, db, admin):
    unit = await unit_of(db)
    await db.rollback()
    async with session_factory(app.state.engine)() as writer:
        pending = await write_event(writer, unit, "pending")
        assert pending not in [r.id for r in await committed_after(db, 0, 1000)]
        await writer.rollback()
    assert pending not in [r.id for r in await committed_after(db, 0, 1000)]


# -- PostgreSQL: ids that commit out of order ------------------------------------------------


async def eventually(read: Any, wanted: Any, seconds: float = 10.0) -> Any:
    """Another test's transaction on the same server may hold the horizon back for a moment."""
    deadline = time.monotonic() + seconds
    while True:
        got = await read()
        if wanted(got) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


@pytest.mark.transport
async def test_an_id_that_commits_late_is_not_skipped_postgresql(app, db, admin, settings):
    """T1 takes id 10 and commits last; T2, begun earlier (an older transaction id), takes 11 and
    commits first. A reader that went on "after 11" by id would never see 10; the log gives 11,
    then 10 once it commits, and never 10 before T1 ends."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL: SQLite commits its one writer at a time, in id order")
    unit = await unit_of(db)
    cursor = max([r.id for r in await committed_after(db, 0, 1000)], default=0)
    await db.rollback()
    sessions = session_factory(app.state.engine)
    async with sessions() as t1, sessions() as t2:
        await t2.execute(text("SELECT pg_current_xact_id()"))  # T2's transaction id is the older
        late = await write_event(t1, unit, "late")
        early = await write_event(t2, unit, "early")
        assert late < early
        await t2.commit()

        async def read() -> list[int]:
            await db.rollback()
            return [r.id for r in await committed_after(db, cursor, 100)]

        seen = await eventually(read, lambda ids: early in ids)
        assert seen == [early]  # 11 is safe: T1's rows all come after it in the log
        cursor = seen[-1]
        assert await read() == []
        await t1.commit()

    async def after_early() -> list[int]:
        await db.rollback()
        return [r.id for r in await committed_after(db, cursor, 100)]

    assert await eventually(after_early, lambda ids: late in ids) == [late]


@pytest.mark.transport
async def test_a_row_behind_a_running_transaction_waits_for_it_postgresql(app, db, admin, settings):
    """T1 (older) takes id 10 and runs on; T2 takes 11 and commits: 11 is not read yet, since T1
    may still commit 10 before it in the log; once T1 commits both come, 10 first."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    unit = await unit_of(db)
    cursor = max([r.id for r in await committed_after(db, 0, 1000)], default=0)
    await db.rollback()
    sessions = session_factory(app.state.engine)

    async def read() -> list[int]:
        await db.rollback()
        return [r.id for r in await committed_after(db, cursor, 100)]

    async with sessions() as t1, sessions() as t2:
        late = await write_event(t1, unit, "first-begun")
        early = await write_event(t2, unit, "first-committed")
        await t2.commit()
        assert await read() == []
        await t1.commit()
    assert await eventually(read, lambda ids: len(ids) == 2) == [late, early]


@pytest.mark.transport
async def test_a_transaction_open_in_another_database_holds_nothing_back_postgresql(app, db, admin, settings):
    """The server's other databases (another application's, say) cannot write this trail: a long
    transaction there does not delay the events here."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    try:
        elsewhere = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no other database to open a transaction in: {exc}")
    try:
        unit = await unit_of(db)
        cursor = max([r.id for r in await committed_after(db, 0, 1000)], default=0)
        await db.rollback()
        running = elsewhere.transaction()
        await running.start()
        await elsewhere.execute("SELECT pg_current_xact_id()")  # it holds a transaction id
        written = await write_event(db, unit, "here")
        await db.commit()

        async def read() -> list[int]:
            await db.rollback()
            return [r.id for r in await committed_after(db, cursor, 100)]

        assert await eventually(read, lambda ids: written in ids) == [written]
        await running.rollback()
    finally:
        await elsewhere.close()


# -- the `events` feed over GraphQL ----------------------------------------------------------

FEED = """query($after: String, $first: Int, $types: [EventType!]) {
  events(after: $after, first: $first, types: $types) {
    cursor
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      __typename eventId cursor type actorId businessUnitId occurredAt
      fieldChanges { field before after }
      ... on UserChangedEvent { userId user { username } }
      ... on CatalogChangedEvent { nodeId node { id ... on Queue { name } } }
    } }
  }
}"""


async def feed(api, **variables: Any) -> dict[str, Any]:
    return (await api.data(FEED, variables))["events"]


async def everything(
    api, after: str | None = None, at_least: int = 0, **variables: Any
) -> tuple[list[dict[str, Any]], str]:
    """The whole feed after `after`, page by page, and where to go on from; read again until it
    holds `at_least` events (on PostgreSQL a transaction open elsewhere in the database, another
    test's or a background worker's, holds the events back for its duration: see
    committed_after)."""
    deadline = time.monotonic() + 10
    while True:
        events, cursor, at = [], after, after
        while True:
            page = await feed(api, after=at, **variables)
            events += [e["node"] for e in page["edges"]]
            at = cursor = page["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        if len(events) >= at_least or time.monotonic() > deadline:
            return events, cursor
        await asyncio.sleep(0.05)


async def create_queue(api, name: str) -> dict[str, Any]:
    data = await api.data(
        "mutation($n: String!) { queueCreate(input: {name: $n}) { queue { id version } userErrors { code } } }",
        {"n": name},
    )
    return data["queueCreate"]["queue"]


async def login_with(app, api, db, username: str, permissions: list[P], unit_id: int = 1) -> str:
    from tests import factories as f

    unit = await db.get(m.BusinessUnit, unit_id)
    profile = await f.security_profile(db, unit, permissions)
    await f.user(
        db, unit, username, password="password-1234", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    return await api.login(username, "password-1234")


async def test_the_feed_lists_committed_changes_oldest_first_with_what_changed(admin_api):
    _, start = await everything(admin_api)
    queue = await create_queue(admin_api, "Billing")
    renamed = await admin_api.data(
        'mutation($id: ID!, $v: Int!) { queueUpdate(input: {id: $id, version: $v, name: "Invoices"}) '
        "{ userErrors { code } } }",
        {"id": queue["id"], "v": queue["version"]},
    )
    assert renamed["queueUpdate"]["userErrors"] == []

    events, _ = await everything(admin_api, after=start, at_least=2)
    assert [e["type"] for e in events] == ["QUEUE_CREATED", "QUEUE_UPDATED"]
    created, updated = events
    assert created["__typename"] == "CatalogChangedEvent"
    assert created["nodeId"] == queue["id"] and updated["node"] == {"id": queue["id"], "name": "Invoices"}
    assert {"field": ["name"], "before": "Billing", "after": "Invoices"} in updated["fieldChanges"]
    assert int(updated["eventId"]) > int(created["eventId"])
    assert created["actorId"] is not None and created["businessUnitId"] is not None


async def test_the_feed_pages_by_cursor_without_losing_or_repeating_an_event(admin_api):
    _, start = await everything(admin_api)
    for n in range(5):
        await create_queue(admin_api, f"Q{n}")
    await everything(admin_api, after=start, at_least=5)
    first = await feed(admin_api, after=start, first=2)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["cursor"] == first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    rest, _ = await everything(admin_api, after=first["cursor"], first=2)
    names = [e["node"]["node"]["name"] for e in first["edges"]] + [e["node"]["name"] for e in rest]
    assert names == [f"Q{n}" for n in range(5)]
    assert (await feed(admin_api, after=first["cursor"], first=0))["edges"] == []


async def test_a_skill_given_to_three_users_is_three_events_of_one_id_paged_one_by_one(app, admin_api, db):
    from tests import factories as f

    unit = await db.get(m.BusinessUnit, 1)
    users = [await f.user(db, unit, f"agent{n}") for n in range(3)]
    await db.commit()
    skill = await admin_api.data(
        'mutation { skillCreate(input: {name: "French"}) { skill { id } userErrors { code } } }'
    )
    _, start = await everything(admin_api)
    given = await admin_api.data(
        "mutation($s: ID!, $u: [SkillUserInput!]!) { skillUsersAdd(input: {skillId: $s, users: $u}) "
        "{ userErrors { code } } }",
        {
            "s": skill["skillCreate"]["skill"]["id"],
            "u": [{"userId": f.gid("User", u.id), "proficiency": 3} for u in users],
        },
    )
    assert given["skillUsersAdd"]["userErrors"] == []

    # a page ends inside the row
    events, _ = await everything(admin_api, after=start, at_least=3, first=1, types=["USER_SKILLS_CHANGED"])
    assert [e["type"] for e in events] == ["USER_SKILLS_CHANGED"] * 3
    assert [e["user"]["username"] for e in events] == ["agent0", "agent1", "agent2"]
    assert len({e["eventId"] for e in events}) == 1 and len({e["cursor"] for e in events}) == 3
    assert events[0]["fieldChanges"][0]["field"] == ["skills"]


async def test_a_deleted_users_event_keeps_their_id_and_shows_no_user(app, admin_api, db):
    from tests import factories as f

    gone = await f.user(db, await db.get(m.BusinessUnit, 1), "leaver")
    await db.commit()
    _, start = await everything(admin_api)
    deleted = await admin_api.data(
        "mutation($id: ID!) { userDelete(input: {id: $id}) { userErrors { code } } }",
        {"id": f.gid("User", gone.id)},
    )
    assert deleted["userDelete"]["userErrors"] == []
    (event,) = (await everything(admin_api, after=start, at_least=1, types=["USER_DELETED"]))[0]
    assert event["userId"] == f.gid("User", gone.id) and event["user"] is None


async def test_a_caller_is_told_only_of_what_they_may_read_in_their_unit(app, api, admin, db):
    from tests import factories as f

    other = await f.business_unit(db, "Unit B")
    target = await f.user(db, await db.get(m.BusinessUnit, 1), "target")
    await db.commit()
    queues_only = await login_with(app, api, db, "queues", [P.QUEUES_VIEW])
    users_only = await login_with(app, api, db, "users", [P.USERS_VIEW])
    nothing = await login_with(app, api, db, "nobody", [])
    api.token = await api.login("admin", "admin-password-123")
    await create_queue(api, "Ours")
    await api.data(
        'mutation($b: ID!) { queueCreate(input: {name: "Theirs", businessUnitId: $b}) { userErrors { code } } }',
        {"b": f.gid("BusinessUnit", other.id)},
    )
    await api.data(
        "mutation($id: ID!) { userDisable(input: {id: $id}) { userErrors { code } } }",
        {"id": f.gid("User", target.id)},
    )
    # the administrator holds EXTERNAL_BUSINESS_UNIT_VIEW: both units
    names = [e["node"]["name"] for e in (await everything(api, at_least=2, types=["QUEUE_CREATED"]))[0]]
    assert names == ["Ours", "Theirs"]

    api.token = queues_only
    seen = (await everything(api))[0]
    assert [(e["type"], e["node"]["name"]) for e in seen] == [("QUEUE_CREATED", "Ours")]  # not unit B's

    api.token = users_only
    seen = (await everything(api))[0]
    assert [(e["type"], e["user"]["username"]) for e in seen] == [("USER_DISABLED", "target")]

    api.token = nothing
    assert (await everything(api))[0] == []


async def test_a_caller_without_users_view_is_told_of_changes_to_themselves(app, api, admin, db):
    from tests import factories as f

    me = await login_with(app, api, db, "agent", [])
    unit = await db.get(m.BusinessUnit, 1)
    someone = await f.user(db, unit, "someone")
    await db.commit()
    api.token = await api.login("admin", "admin-password-123")
    agent = (await db.execute(select(m.User.id).where(m.User.username == "agent"))).scalar()
    for user_id in (someone.id, agent):
        done = await api.data(
            "mutation($id: ID!) { userSessionsRevokeAll(input: {userId: $id}) { userErrors { code } } }",
            {"id": f.gid("User", user_id)},
        )
        assert done["userSessionsRevokeAll"]["userErrors"] == [], done
    me = await api.login("agent", "password-1234")  # signed out by the revocation
    api.token = me
    seen = (await everything(api, at_least=1))[0]
    assert [(e["type"], e["user"]["username"]) for e in seen] == [("USER_CREDENTIALS_CHANGED", "agent")]


async def test_the_cursor_goes_past_events_the_caller_is_not_told_of(app, api, admin, db):
    queues_only = await login_with(app, api, db, "queues", [P.QUEUES_VIEW])
    api.token = queues_only
    page = await feed(api)
    assert page["edges"] == [] and page["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    api.token = await api.login("admin", "admin-password-123")
    await api.data('mutation { skillCreate(input: {name: "Hidden"}) { userErrors { code } } }')
    await everything(api, at_least=1, types=["SKILL_CREATED"])  # committed and readable
    api.token = queues_only
    after_skill = await feed(api, after=page["cursor"])
    assert after_skill["edges"] == [] and after_skill["cursor"] != page["cursor"]
    api.token = await api.login("admin", "admin-password-123")
    await create_queue(api, "Seen")
    await everything(api, at_least=1, types=["QUEUE_CREATED"])
    api.token = queues_only
    (event,) = (await feed(api, after=after_skill["cursor"]))["edges"]
    assert event["node"]["node"]["name"] == "Seen"


async def test_the_feed_refuses_a_page_over_100_and_a_forged_cursor(admin_api):
    for variables, argument in (({"first": 101}, "first"), ({"after": "bm90LWEtY3Vyc29y"}, "after")):
        body = await admin_api.post(FEED, variables)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and argument in error["message"]


async def test_the_feed_needs_a_signed_in_caller(api, admin):
    body = await api.post(FEED, {})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- sync: updatedAt and users(filter: {updatedSince}) ---------------------------------------

CATALOG_LISTS = (
    "userProfiles",
    "queues",
    "workStreams",
    "skills",
    "teams",
    "presenceStatuses",
    "securityProfiles",
    "businessUnits",
)


async def test_every_catalog_object_tells_when_it_last_changed(admin_api):
    await create_queue(admin_api, "Billing")
    await admin_api.data('mutation { skillCreate(input: {name: "French"}) { userErrors { code } } }')
    await admin_api.data('mutation { teamCreate(input: {name: "Blue"}) { userErrors { code } } }')
    await admin_api.data('mutation { userProfileCreate(input: {name: "Agents"}) { userErrors { code } } }')
    await admin_api.data(
        'mutation { workStreamCreate(input: {name: "Voice", channel: VOICE}) { userErrors { code } } }'
    )
    lists = " ".join(f"{name}(first: 1) {{ nodes {{ updatedAt }} }}" for name in CATALOG_LISTS)
    data = await admin_api.data(f"{{ {lists} }}")
    for name in CATALOG_LISTS:
        (node,) = data[name]["nodes"]
        assert datetime.fromisoformat(node["updatedAt"]).tzinfo is not None, name


async def test_a_queue_updated_at_moves_when_it_changes(admin_api):
    queue = await create_queue(admin_api, "Billing")
    read = "query($id: ID!) { node(id: $id) { ... on Queue { updatedAt version } } }"
    before = (await admin_api.data(read, {"id": queue["id"]}))["node"]
    await admin_api.data(
        'mutation($id: ID!, $v: Int!) { queueUpdate(input: {id: $id, version: $v, name: "Invoices"}) '
        "{ userErrors { code } } }",
        {"id": queue["id"], "v": before["version"]},
    )
    after = (await admin_api.data(read, {"id": queue["id"]}))["node"]
    assert datetime.fromisoformat(after["updatedAt"]) > datetime.fromisoformat(before["updatedAt"])


USERS_SINCE = (
    "query($since: DateTime) { users(filter: {updatedSince: $since}) { totalCount nodes { username } } }"
)


async def test_users_updated_since_lists_those_changed_at_or_after_it(app, admin_api, db):
    from tests import factories as f

    unit = await db.get(m.BusinessUnit, 1)
    for name in ("stays", "moves", "skilled"):
        await f.user(db, unit, name)
    await db.commit()
    skill = await admin_api.data('mutation { skillCreate(input: {name: "French"}) { skill { id } } }')
    await asyncio.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    ids = {u.username: u.id for u in (await db.execute(select(m.User))).scalars()}
    await admin_api.data(
        "mutation($id: ID!) { userDisable(input: {id: $id}) { userErrors { code } } }",
        {"id": f.gid("User", ids["moves"])},
    )
    # A skill given from the skill's side changes its users as much as from theirs.
    await admin_api.data(
        "mutation($s: ID!, $u: ID!) { skillUsersAdd(input: {skillId: $s, users: [{userId: $u, proficiency: 2}]}) "
        "{ userErrors { code } } }",
        {"s": skill["skillCreate"]["skill"]["id"], "u": f.gid("User", ids["skilled"])},
    )
    found = (await admin_api.data(USERS_SINCE, {"since": since}))["users"]
    assert sorted(n["username"] for n in found["nodes"]) == ["moves", "skilled"]
    assert found["totalCount"] == 2
    assert (await admin_api.data(USERS_SINCE, {"since": None}))["users"]["totalCount"] == 4  # admin too


async def test_users_updated_since_without_an_offset_is_refused(admin_api):
    body = await admin_api.post(USERS_SINCE, {"since": "2025-01-31T09:00:00"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "updatedSince" in error["message"]
