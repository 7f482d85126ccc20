"""A nested query costs a number of SQL statements that does not grow with the rows returned."""

from ccgraph.db import models as m
from ccgraph.enums import Channel
from tests import factories as f

NESTED = """query($n: Int!) { users(first: $n) { totalCount edges { node {
  username team { name } manager { username }
  userProfile { name capacity queues { name } workStreams { name } defaultPresence { name } }
  queues { name } workStreams { name channel } securityProfiles { name } permissions
  skills(first: 10) { totalCount edges { proficiency node { name workStream { name } } } }
  directReports(first: 5) { totalCount edges { node { username } } }
  customFields { label value } businessUnit { name }
  effectiveSettings { capacity { value source } defaultPresence { value { name } source }
    queues { value { name } source } workStreams { value { name } source } }
} } } }"""


async def _organisation(db, users: int) -> None:
    unit = await db.get(m.BusinessUnit, 1)
    team = await f.named(db, m.Team, unit, "Tier 1")
    ready = await f.presence(db, unit, "Ready")
    queues = [await f.queue(db, unit, f"Q{i}") for i in range(3)]
    streams = [await f.work_stream(db, unit, f"W{i}", Channel.CHAT) for i in range(2)]
    skills = [await f.named(db, m.Skill, unit, f"S{i}", work_stream_id=streams[i % 2].id) for i in range(4)]
    profile = m.UserProfile(business_unit_id=unit.id, name="P", capacity=40, default_presence_id=ready.id)
    db.add(profile)
    await db.flush()
    await f.link(db, m.user_profile_queues, user_profile_id=profile.id, queue_id=queues[0].id)
    await f.link(db, m.user_profile_work_streams, user_profile_id=profile.id, work_stream_id=streams[0].id)
    boss = await f.user(db, unit, "aaa-boss")
    for i in range(users):
        u = await f.user(
            db,
            unit,
            f"agent{i:03}",
            team_id=team.id,
            user_profile_id=profile.id,
            manager_id=boss.id,
            capacity=50 if i % 2 else None,
        )
        await f.link(db, m.user_queues, user_id=u.id, queue_id=queues[i % 3].id)
        await f.link(db, m.user_work_streams, user_id=u.id, work_stream_id=streams[1].id)
        for s in skills[: 1 + i % 4]:
            await f.link(db, m.UserSkill.__table__, user_id=u.id, skill_id=s.id, proficiency=1 + i % 20)
    await db.commit()


async def test_statements_per_nested_query_are_the_same_at_10_and_100_users(admin_api, db, sql_counter):
    await _organisation(db, 120)
    counts = {}
    for n in (10, 100):
        with sql_counter:
            data = await admin_api.data(NESTED, {"n": n})
        assert len(data["users"]["edges"]) == n
        counts[n] = len(sql_counter.statements)
    print("statements per nested query:", counts)
    assert counts[10] == counts[100], counts
    assert counts[100] <= 25, counts


FRAGMENTS = """query($n: Int!) { users(first: $n) { totalCount edges { node { ...Agent } } } }
fragment Agent on User {
  username team { name } manager { username }
  ... on User { userProfile { name capacity queues { name } workStreams { name } defaultPresence { name } } }
  queues { name } workStreams { name channel } securityProfiles { name } permissions
  skills(first: 10) { totalCount edges { proficiency node { name workStream { name } } } }
  directReports(first: 5) { totalCount edges { node { username } } }
  customFields { label value } businessUnit { name }
  effectiveSettings { ...Effective }
}
fragment Effective on EffectiveSettings { capacity { value source } defaultPresence { value { name } source }
  queues { value { name } source } workStreams { value { name } source } }"""


async def test_a_query_written_with_fragments_costs_the_same(admin_api, db, sql_counter):
    """Front ends (Relay above all) select through fragments; the page prefetch sees through them."""
    await _organisation(db, 30)
    with sql_counter:
        plain = await admin_api.data(NESTED, {"n": 20})
    direct = len(sql_counter.statements)
    with sql_counter:
        fragments = await admin_api.data(FRAGMENTS, {"n": 20})
    assert fragments == plain
    assert len(sql_counter.statements) == direct, (direct, sql_counter.statements)
