"""A nested query costs a number of SQL statements that does not grow with the rows returned."""

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


async def test_statements_per_nested_query_are_the_same_at_10_and_100_users(admin_api, db, sql_counter):
    await f.organisation(db, 120)
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
    await f.organisation(db, 30)
    with sql_counter:
        plain = await admin_api.data(NESTED, {"n": 20})
    direct = len(sql_counter.statements)
    with sql_counter:
        fragments = await admin_api.data(FRAGMENTS, {"n": 20})
    assert fragments == plain
    assert len(sql_counter.statements) == direct, (direct, sql_counter.statements)
