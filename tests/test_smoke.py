from ccgraph.services.demo import load_demo


async def test_nested_users_query(admin_api, db):
    await load_demo(db)
    data = await admin_api.data(
        "{ users(first: 3) { totalCount edges { node { username team { name } "
        "skills(first: 5) { totalCount edges { proficiency node { name } } } "
        "effectiveSettings { capacity { value source } queues { value { name } source } } } } } }"
    )
    assert data["users"]["totalCount"] >= 3
