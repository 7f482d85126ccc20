"""Skills and proficiencies (NICE 'Assign Skills to a User', 'Change a User's Skill
Proficiencies', 'Add Users to a Skill')."""

from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

ERR = "userErrors { field code message }"
USER_SKILLS = "skills(first: 100) { totalCount edges { proficiency node { name } } }"
SKILL_USERS = "users(first: 100) { totalCount edges { proficiency node { username } } }"


async def setup(db, n_skills=3, n_users=3):
    unit = await db.get(m.BusinessUnit, 1)
    skills = [await f.named(db, m.Skill, unit, f"Skill {i}") for i in range(n_skills)]
    users = [await f.user(db, unit, f"agent{i}") for i in range(n_users)]
    other = await f.business_unit(db, "Other")
    foreign = await f.named(db, m.Skill, other, "Foreign")
    await db.commit()
    return unit, skills, users, foreign


def pairs(payload, key, name):
    return [(e["node"][name], e["proficiency"]) for e in payload[key]["edges"]]


async def rows(db) -> int:
    return (await db.execute(select(func.count()).select_from(m.UserSkill))).scalar_one()


async def test_user_side_add_many_set_all_and_remove(admin_api, db):
    _, skills, users, _ = await setup(db)
    uid = f.gid("User", users[0].id)
    add = await admin_api.data(
        f"mutation($i: UserSkillsAddInput!) {{ userSkillsAdd(input: $i) {{ user {{ {USER_SKILLS} }} {ERR} }} }}",
        {
            "i": {
                "userId": uid,
                "skills": [
                    {"skillId": f.gid("Skill", s.id), "proficiency": 3 + k} for k, s in enumerate(skills)
                ],
            }
        },
    )
    assert add["userSkillsAdd"]["userErrors"] == []
    assert pairs(add["userSkillsAdd"]["user"], "skills", "name") == [
        ("Skill 0", 3),
        ("Skill 1", 4),
        ("Skill 2", 5),
    ]
    some = await admin_api.data(
        f"mutation($i: UserSkillsSetProficiencyInput!) {{ userSkillsSetProficiency(input: $i) {{ user {{ {USER_SKILLS} }} {ERR} }} }}",
        {"i": {"userId": uid, "skills": [{"skillId": f.gid("Skill", skills[1].id), "proficiency": 1}]}},
    )
    assert pairs(some["userSkillsSetProficiency"]["user"], "skills", "name")[1] == ("Skill 1", 1)
    every = await admin_api.data(
        f"mutation($i: UserSkillsSetProficiencyInput!) {{ userSkillsSetProficiency(input: $i) {{ user {{ {USER_SKILLS} }} {ERR} }} }}",
        {"i": {"userId": uid, "setAllTo": 20}},
    )
    assert {p for _, p in pairs(every["userSkillsSetProficiency"]["user"], "skills", "name")} == {20}
    removed = await admin_api.data(
        f"mutation($i: UserSkillsRemoveInput!) {{ userSkillsRemove(input: $i) {{ user {{ {USER_SKILLS} }} {ERR} }} }}",
        {"i": {"userId": uid, "skillIds": [f.gid("Skill", skills[0].id), f.gid("Skill", skills[2].id)]}},
    )
    assert pairs(removed["userSkillsRemove"]["user"], "skills", "name") == [("Skill 1", 20)]
    actions = (await db.execute(select(m.AuditEvent.action).order_by(m.AuditEvent.id))).scalars().all()
    assert actions == [
        "user.skillsAdd",
        "user.skillsSetProficiency",
        "user.skillsSetProficiency",
        "user.skillsRemove",
    ]


async def test_skill_side_add_many_users_and_set_their_proficiency(admin_api, db):
    _, skills, users, _ = await setup(db)
    sid = f.gid("Skill", skills[0].id)
    add = await admin_api.data(
        f"mutation($i: SkillUsersAddInput!) {{ skillUsersAdd(input: $i) {{ skill {{ {SKILL_USERS} }} {ERR} }} }}",
        {"i": {"skillId": sid, "users": [{"userId": f.gid("User", u.id), "proficiency": 2} for u in users]}},
    )
    assert pairs(add["skillUsersAdd"]["skill"], "users", "username") == [
        ("agent0", 2),
        ("agent1", 2),
        ("agent2", 2),
    ]
    change = await admin_api.data(
        f"mutation($i: SkillUsersSetProficiencyInput!) {{ skillUsersSetProficiency(input: $i) {{ skill {{ {SKILL_USERS} }} {ERR} }} }}",
        {"i": {"skillId": sid, "users": [{"userId": f.gid("User", users[2].id), "proficiency": 9}]}},
    )
    assert pairs(change["skillUsersSetProficiency"]["skill"], "users", "username")[2] == ("agent2", 9)
    gone = await admin_api.data(
        f"mutation($i: SkillUsersRemoveInput!) {{ skillUsersRemove(input: $i) {{ skill {{ {SKILL_USERS} }} {ERR} }} }}",
        {"i": {"skillId": sid, "userIds": [f.gid("User", users[0].id)]}},
    )
    assert [u for u, _ in pairs(gone["skillUsersRemove"]["skill"], "users", "username")] == [
        "agent1",
        "agent2",
    ]
    ordered = await admin_api.data(
        "query($id: ID!) { node(id: $id) { ... on Skill { users(orderBy: {field: PROFICIENCY, direction: DESC}) "
        "{ edges { proficiency node { username } } } } } }",
        {"id": sid},
    )
    assert [e["node"]["username"] for e in ordered["node"]["users"]["edges"]] == ["agent2", "agent1"]


async def test_refusals_change_nothing(admin_api, db):
    _, skills, users, foreign = await setup(db)
    uid = f.gid("User", users[0].id)
    await db.execute(
        m.UserSkill.__table__.insert().values(user_id=users[0].id, skill_id=skills[0].id, proficiency=5)
    )
    await db.commit()
    before = await rows(db)
    q = f"mutation($i: UserSkillsAddInput!) {{ userSkillsAdd(input: $i) {{ user {{ id }} {ERR} }} }}"
    cases = [
        (
            [{"skillId": f.gid("Skill", skills[1].id), "proficiency": 0}],
            ["skills", "0", "proficiency"],
            "INVALID",
        ),
        (
            [{"skillId": f.gid("Skill", skills[1].id), "proficiency": 21}],
            ["skills", "0", "proficiency"],
            "INVALID",
        ),
        (
            [{"skillId": f.gid("Skill", skills[0].id), "proficiency": 2}],
            ["skills", "0", "skillId"],
            "ALREADY_ASSIGNED",
        ),
        (
            [
                {"skillId": f.gid("Skill", skills[1].id), "proficiency": 2},
                {"skillId": f.gid("Skill", skills[1].id), "proficiency": 3},
            ],
            ["skills", "1", "skillId"],
            "DUPLICATE",
        ),
        (
            [{"skillId": f.gid("Skill", foreign.id), "proficiency": 2}],
            ["skills", "0", "skillId"],
            "NOT_FOUND",
        ),
    ]
    for items, field, code in cases:
        # a valid item besides the bad one: nothing of it is applied either
        good = [{"skillId": f.gid("Skill", skills[2].id), "proficiency": 1}]
        data = (await admin_api.data(q, {"i": {"userId": uid, "skills": items + good}}))["userSkillsAdd"]
        assert data["user"] is None
        assert any(e["field"] == field and e["code"] == code for e in data["userErrors"]), (code, data)
        assert await rows(db) == before
    setp = "mutation($i: UserSkillsSetProficiencyInput!) { userSkillsSetProficiency(input: $i) { userErrors { field code } } }"
    data = await admin_api.data(setp, {"i": {"userId": uid, "setAllTo": 0}})
    assert data["userSkillsSetProficiency"]["userErrors"] == [{"field": ["setAllTo"], "code": "INVALID"}]
    data = await admin_api.data(
        setp, {"i": {"userId": uid, "skills": [{"skillId": f.gid("Skill", skills[1].id), "proficiency": 4}]}}
    )
    assert data["userSkillsSetProficiency"]["userErrors"][0]["code"] == "NOT_ASSIGNED"


async def test_the_permission_pair_is_required(app, api, admin, db):
    unit, skills, users, _ = await setup(db)
    for name, perms in {
        "edit-only": [Permission.USERS_EDIT],
        "skills-only": [Permission.SKILLS_EDIT],
        "both": [Permission.USERS_EDIT, Permission.SKILLS_EDIT],
    }.items():
        profile = await f.security_profile(db, unit, perms, name=name)
        await f.user(
            db, unit, name, password="password-1234", passwords=app.state.passwords, profiles=[profile]
        )
    await db.commit()
    q = "mutation($i: UserSkillsAddInput!) { userSkillsAdd(input: $i) { userErrors { code } } }"
    i = {
        "userId": f.gid("User", users[0].id),
        "skills": [{"skillId": f.gid("Skill", skills[0].id), "proficiency": 1}],
    }
    for name in ("edit-only", "skills-only"):
        body = await api.post(q, {"i": i}, token=await api.login(name, "password-1234"))
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.data(q, {"i": i}, token=await api.login("both", "password-1234")))["userSkillsAdd"] == {
        "userErrors": []
    }


async def test_skill_crud_is_unique_per_unit(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    chat = await f.work_stream(db, unit, "Chat")
    await db.commit()
    q = (
        "mutation($i: SkillCreateInput!) { skillCreate(input: $i) { skill { name active workStream { name } } "
        "userErrors { field code } } }"
    )
    ok = await admin_api.data(q, {"i": {"name": "Spanish", "workStreamId": f.gid("WorkStream", chat.id)}})
    assert ok["skillCreate"] == {
        "skill": {"name": "Spanish", "active": True, "workStream": {"name": "Chat"}},
        "userErrors": [],
    }
    dup = await admin_api.data(q, {"i": {"name": "SPANISH"}})
    assert dup["skillCreate"]["userErrors"] == [{"field": ["name"], "code": "TAKEN"}]


async def test_pickers_show_what_is_not_yet_assigned(admin_api, db):
    _, skills, users, _ = await setup(db)
    await db.execute(
        m.UserSkill.__table__.insert().values(user_id=users[0].id, skill_id=skills[0].id, proficiency=5)
    )
    await db.commit()
    data = await admin_api.data(
        "query($u: ID!, $s: ID!) { skills(notAssignedToUserId: $u) { edges { node { name } } } "
        'users(filter: {notSkillId: $s, search: "agent"}) { edges { node { username } } } }',
        {"u": f.gid("User", users[0].id), "s": f.gid("Skill", skills[0].id)},
    )
    assert [e["node"]["name"] for e in data["skills"]["edges"]] == ["Skill 1", "Skill 2"]
    assert [e["node"]["username"] for e in data["users"]["edges"]] == ["agent1", "agent2"]


async def test_paging_250_skills_100_at_a_time_while_one_is_inserted(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    db.add_all([m.Skill(business_unit_id=unit.id, name=f"Skill {i:03}") for i in range(250)])
    await db.commit()
    q = "query($a: String) { skills(first: 100, after: $a) { edges { node { name } } pageInfo { hasNextPage endCursor } } }"
    seen, after, inserted = [], None, False
    while True:
        page = (await admin_api.data(q, {"a": after}))["skills"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not inserted:  # a skill that sorts into the page already read
            db.add(m.Skill(business_unit_id=unit.id, name="Skill 000a"))
            await db.commit()
            inserted = True
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    originals = [f"Skill {i:03}" for i in range(250)]
    assert [s for s in seen if s in originals] == originals  # none twice, none skipped, in order
    assert len(seen) == len(set(seen))


async def test_skills_feed_effective_settings_active_ones_most_proficient_first(admin_api, db):
    _, skills, users, _ = await setup(db)
    skills[2].active = False
    for skill, p in ((skills[0], 7), (skills[1], 2), (skills[2], 1)):
        await db.execute(
            m.UserSkill.__table__.insert().values(user_id=users[0].id, skill_id=skill.id, proficiency=p)
        )
    await db.commit()
    data = await admin_api.data(
        "query($id: ID!) { user(id: $id) { effectiveSettings { skills { value { name } proficiency source } } } }",
        {"id": f.gid("User", users[0].id)},
    )
    assert data["user"]["effectiveSettings"]["skills"] == [
        {"value": {"name": "Skill 1"}, "proficiency": 2, "source": "USER"},
        {"value": {"name": "Skill 0"}, "proficiency": 7, "source": "USER"},
    ]


async def test_statements_for_users_with_skills_do_not_grow_from_10_to_100(admin_api, db, sql_counter):
    unit = await db.get(m.BusinessUnit, 1)
    skills = [await f.named(db, m.Skill, unit, f"S{i}") for i in range(5)]
    for i in range(110):
        u = await f.user(db, unit, f"a{i:03}")
        for s in skills[: 1 + i % 5]:
            await db.execute(
                m.UserSkill.__table__.insert().values(user_id=u.id, skill_id=s.id, proficiency=1 + i % 20)
            )
    await db.commit()
    q = "query($n: Int!) { users(first: $n) { edges { node { skills { edges { proficiency node { name } } } } } } }"
    counts = {}
    for n in (10, 100):
        with sql_counter:
            await admin_api.data(q, {"n": n})
        counts[n] = len(sql_counter.statements)
    assert counts[10] == counts[100], counts
