"""Direct reports from the manager's record (Dynamics 365 002: "In the Direct Reports section,
add existing users as direct reports") and the Omnichannel users view, defined by any of
several roles (the user filter's `securityProfileIds`)."""

from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f
from tests.test_authority import administrator_profile, signed_in

REPORTS = """user { username directReports { totalCount edges { node { username } } } }
  userErrors { field code message }"""
ADD, REMOVE, SET = (
    f"""mutation($i: UserDirectReportsInput!) {{ userDirectReports{verb}(input: $i) {{ {REPORTS} }} }}"""
    for verb in ("Add", "Remove", "Set")
)


class Org:
    """Unit 1 with a manager, three agents and one agent below `ann` (`ann` <- `dan`)."""


async def org(db) -> Org:
    o = Org()
    o.unit = await db.get(m.BusinessUnit, 1)
    o.agent = await f.security_profile(db, o.unit, [Permission.USERS_VIEW], name="Agent")
    o.boss = await f.user(db, o.unit, "boss", profiles=[o.agent])
    o.ann = await f.user(db, o.unit, "ann", profiles=[o.agent])
    o.bob = await f.user(db, o.unit, "bob", profiles=[o.agent])
    o.cyd = await f.user(db, o.unit, "cyd", profiles=[o.agent])
    o.dan = await f.user(db, o.unit, "dan", profiles=[o.agent], manager_id=o.ann.id)
    await db.commit()
    return o


def gid(user: m.User) -> str:
    return f.gid("User", user.id)


def edit(manager: m.User, *users: m.User | str, **extra) -> dict:
    return {
        "i": {"managerId": gid(manager), "userIds": [u if isinstance(u, str) else gid(u) for u in users]}
        | extra
    }


async def managers(db) -> dict[str, str | None]:
    boss = m.User.__table__.alias("boss")
    rows = await db.execute(
        select(m.User.username, boss.c.username).outerjoin(boss, boss.c.id == m.User.manager_id)
    )
    found = dict(rows.all())
    await db.commit()  # end the read, so the next one sees what the API wrote since
    return found


async def audit_events(db) -> int:
    value = (await db.execute(select(func.count()).select_from(m.AuditEvent))).scalar_one()
    await db.commit()
    return value


def reports_of(payload: dict) -> list[str]:
    return [e["node"]["username"] for e in payload["user"]["directReports"]["edges"]]


async def test_add_then_remove_direct_reports_from_the_managers_record(admin_api, db):
    o = await org(db)
    data = (await admin_api.data(ADD, edit(o.boss, o.ann, o.bob)))["userDirectReportsAdd"]
    assert data["userErrors"] == [] and data["user"]["username"] == "boss"
    assert reports_of(data) == ["ann", "bob"]
    assert (await managers(db))["ann"] == "boss" and (await managers(db))["bob"] == "boss"
    again = (await admin_api.data(ADD, edit(o.boss, o.ann, o.cyd)))["userDirectReportsAdd"]
    assert reports_of(again) == ["ann", "bob", "cyd"]  # adding one already there keeps them

    data = (await admin_api.data(REMOVE, edit(o.boss, o.ann)))["userDirectReportsRemove"]
    assert data["userErrors"] == [] and reports_of(data) == ["bob", "cyd"]
    assert (await managers(db))["ann"] is None
    events = (
        (
            await db.execute(
                select(m.AuditEvent.changes).where(
                    m.AuditEvent.action == "user.update", m.AuditEvent.target_id == o.ann.id
                )
            )
        )
        .scalars()
        .all()
    )
    assert [e["manager_id"] for e in events] == [
        {"before": None, "after": o.boss.id},
        {"before": o.boss.id, "after": None},
    ]


async def test_set_replaces_the_list_and_those_not_listed_lose_the_manager(admin_api, db):
    o = await org(db)
    await admin_api.data(ADD, edit(o.boss, o.ann, o.bob))
    data = (await admin_api.data(SET, edit(o.boss, o.bob, o.cyd)))["userDirectReportsSet"]
    assert data["userErrors"] == [] and reports_of(data) == ["bob", "cyd"]
    found = await managers(db)
    assert (found["ann"], found["bob"], found["cyd"], found["dan"]) == (None, "boss", "boss", "ann")
    data = (await admin_api.data(SET, edit(o.boss)))["userDirectReportsSet"]
    assert data["user"]["directReports"]["totalCount"] == 0


async def test_removing_a_user_who_does_not_report_to_the_manager_is_refused_whole(admin_api, db):
    o = await org(db)
    await admin_api.data(ADD, edit(o.boss, o.ann))
    before = await managers(db)
    data = (await admin_api.data(REMOVE, edit(o.boss, o.ann, o.dan)))["userDirectReportsRemove"]
    assert [(e["field"], e["code"]) for e in data["userErrors"]] == [
        (["userIds", "1"], "NOT_A_DIRECT_REPORT")
    ]
    assert "dan" in data["userErrors"][0]["message"] and data["user"] is None
    assert await managers(db) == before


async def test_a_cycle_is_refused_and_nothing_is_changed(admin_api, db):
    o = await org(db)
    await admin_api.data(ADD, edit(o.boss, o.ann))  # boss <- ann <- dan
    before, events = await managers(db), await audit_events(db)
    cases = [
        (edit(o.dan, o.cyd, o.boss), ["userIds", "1"]),  # boss is above dan, two levels up
        (edit(o.ann, o.cyd, o.ann), ["userIds", "1"]),  # ann would report to herself
        (edit(o.dan, o.ann), ["userIds", "0"]),  # ann manages dan
    ]
    for given, field in cases:
        for mutation, name in ((ADD, "userDirectReportsAdd"), (SET, "userDirectReportsSet")):
            data = (await admin_api.data(mutation, given))[name]
            assert [(e["field"], e["code"]) for e in data["userErrors"]] == [(field, "INVALID")], (
                given,
                data,
            )
            assert "cannot report" in data["userErrors"][0]["message"]
    assert await managers(db) == before and await audit_events(db) == events


async def test_an_unknown_invisible_or_repeated_user_is_refused_naming_its_place(app, api, admin, db):
    o = await org(db)
    other = await f.business_unit(db, "Elsewhere")
    stranger = await f.user(db, other, "stranger")
    await db.commit()
    await signed_in(app, api, db, "editor", [Permission.USERS_EDIT, Permission.USERS_VIEW])
    before, events = await managers(db), await audit_events(db)
    cases = [
        (ADD, edit(o.boss, o.ann, stranger), ["userIds", "1"], "NOT_FOUND"),
        (SET, edit(o.boss, o.ann, f.gid("User", 99999)), ["userIds", "1"], "NOT_FOUND"),
        (REMOVE, edit(o.boss, stranger), ["userIds", "0"], "NOT_FOUND"),
        (ADD, edit(o.boss, o.ann, o.bob, o.ann), ["userIds", "2"], "DUPLICATE"),
        (ADD, edit(stranger, o.ann), ["managerId"], "NOT_FOUND"),
        (SET, edit(o.boss, *[o.ann] * 1001), ["userIds"], "TOO_MANY"),
    ]
    for mutation, given, field, code in cases:
        body = await api.data(mutation, given)
        [data] = body.values()
        assert [(e["field"], e["code"]) for e in data["userErrors"]] == [(field, code)], (given, data)
    assert await managers(db) == before and await audit_events(db) == events


async def test_a_manager_in_another_business_unit_is_refused(admin_api, db):
    o = await org(db)
    other = await f.business_unit(db, "Elsewhere")
    stranger = await f.user(db, other, "stranger")
    await db.commit()
    data = (await admin_api.data(ADD, edit(stranger, o.ann)))["userDirectReportsAdd"]
    assert data["userErrors"] == [
        {
            "field": ["userIds", "0"],
            "code": "NOT_FOUND",
            "message": "The manager is not in this user's business unit.",
        }
    ]


async def test_validate_only_answers_as_the_change_would_and_writes_nothing(admin_api, db):
    o = await org(db)
    before, events = await managers(db), await audit_events(db)
    data = (await admin_api.data(ADD, edit(o.boss, o.ann, o.bob, validateOnly=True)))["userDirectReportsAdd"]
    assert data["userErrors"] == [] and reports_of(data) == ["ann", "bob"]
    data = (await admin_api.data(SET, edit(o.ann, o.bob, validateOnly=True)))["userDirectReportsSet"]
    assert reports_of(data) == ["bob"]  # dan would be dropped
    data = (await admin_api.data(REMOVE, edit(o.boss, o.ann, validateOnly=True)))["userDirectReportsRemove"]
    assert data["userErrors"][0]["code"] == "NOT_A_DIRECT_REPORT"  # the dry runs above wrote nothing
    assert await managers(db) == before and await audit_events(db) == events


async def test_an_actor_outranked_by_a_report_or_the_manager_is_refused(app, api, admin, db):
    o = await org(db)
    chief = await f.user(db, o.unit, "chief", profiles=[await administrator_profile(db)])
    top = await f.user(db, o.unit, "top", profiles=[await administrator_profile(db)], manager_id=o.boss.id)
    await db.commit()
    await signed_in(app, api, db, "editor", [Permission.USERS_EDIT, Permission.USERS_VIEW])
    before = await managers(db)
    cases = [
        (ADD, edit(o.boss, o.ann, chief), ["userIds", "1"]),  # a report who holds more
        (SET, edit(o.boss, o.ann), ["userIds"]),  # `top` would be dropped
        (REMOVE, edit(o.boss, top), ["userIds", "0"]),
        (ADD, edit(chief, o.ann), ["managerId"]),  # the manager holds more
        (REMOVE, edit(chief, o.ann), ["managerId"]),
    ]
    for mutation, given, field in cases:
        [data] = (await api.data(mutation, given)).values()
        assert [(e["field"], e["code"]) for e in data["userErrors"]] == [(field, "TARGET_OUTRANKS_ACTOR")], (
            data
        )
    assert await managers(db) == before
    message = (await api.data(SET, edit(o.boss, o.ann)))["userDirectReportsSet"]["userErrors"][0]["message"]
    assert message.startswith("top (a direct report not listed)")


async def test_direct_reports_need_users_edit(app, api, admin, db):
    o = await org(db)
    await signed_in(app, api, db, "viewer", [Permission.USERS_VIEW])
    body = await api.post(ADD, edit(o.boss, o.ann))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await managers(db))["ann"] is None


FILTERED = """query($f: UserFilter) { users(filter: $f) { edges { node { username } } } }"""


async def test_the_user_filter_takes_any_of_several_security_profiles(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    supervisor, agent, other = [
        await f.security_profile(db, unit, [Permission.USERS_VIEW], name=n)
        for n in ("Supervisor", "Agent", "Other")
    ]
    await f.user(db, unit, "sue", profiles=[supervisor])
    await f.user(db, unit, "art", profiles=[agent, supervisor])
    await f.user(db, unit, "oli", profiles=[other])
    await db.commit()

    async def usernames(**given) -> list[str]:
        data = await admin_api.data(FILTERED, {"f": given})
        return [e["node"]["username"] for e in data["users"]["edges"]]

    ids = [f.gid("SecurityProfile", p.id) for p in (supervisor, agent)]
    assert await usernames(securityProfileIds=ids) == ["art", "sue"]  # the union, each once
    assert await usernames(securityProfileIds=[]) == []
    assert await usernames(securityProfileId=ids[1]) == ["art"]  # deprecated, still served
    assert await usernames(securityProfileId=ids[1], securityProfileIds=[ids[0]]) == ["art"]  # both hold

    introspected = await admin_api.data(
        '{ __type(name: "UserFilter") { inputFields(includeDeprecated: true) '
        "{ name isDeprecated deprecationReason } } }"
    )
    fields = {x["name"]: x for x in introspected["__type"]["inputFields"]}
    assert fields["securityProfileId"]["deprecationReason"] == "Use securityProfileIds."
    assert fields["securityProfileIds"]["isDeprecated"] is False
