"""User lifecycle (NICE 004 'Create a User', Dextr 'Users', Dynamics 'Manage users')."""

import pytest
from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

USER_FIELDS = """id username firstName lastName email version enabled timezone country city capacity
  team { name } manager { username } userProfile { name } securityProfiles { name }
  queues { name } workStreams { name } defaultPresence { name }
  skills { edges { proficiency node { name } } }
  phone { type deskPhoneNumber autoAccept }
  channelSettings { refusalTimeouts { channel value } dialingPattern agentVoiceThreshold suppressRinging
    concurrentChats autoParkedEmails requestContact }
  omnichannel { maxContacts { channel value } deliveryMode totalContactCount }
  wfoRecording { systemDomain systemUsername phones } maxReleasePreview
  wfmNotifications { email sms inApp } crmUsername accessMode mailbox
  organization { jobTitle department employeeId } contact { mainPhone mobilePhone homePhone }
  address { street1 city postalCode country }
  customFields { slot label value }
  effectiveSettings { capacity { value source } queues { value { name } source } }"""
CREATE = f"""mutation($input: UserCreateInput!) {{ userCreate(input: $input) {{
  user {{ {USER_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($input: UserUpdateInput!) {{ userUpdate(input: $input) {{
  user {{ {USER_FIELDS} }} userErrors {{ field code message }} }} }}"""
COPY = f"""mutation($input: UserCopyInput!) {{ userCopy(input: $input) {{
  user {{ {USER_FIELDS} }} userErrors {{ field code message }} }} }}"""


class Org:
    """A business unit with what users are given: teams, profiles, queues, skills..."""


async def org(db) -> Org:
    o = Org()
    o.unit = await db.get(m.BusinessUnit, 1)
    o.unit.omnichannel_session_handling = True
    o.unit.granular_osh = True
    o.unit.wfo_enabled = True
    o.unit.wfm_enabled = True
    o.unit.custom_field_1_label = "Marital Status"
    o.agent = await f.security_profile(db, o.unit, [Permission.USERS_VIEW], name="Agent")
    o.random = await f.security_profile(
        db, o.unit, [Permission.USERS_VIEW], name="Random", generate_random_passwords=True
    )
    o.team = await f.named(db, m.Team, o.unit, "Tier 1")
    o.vip = await f.queue(db, o.unit, "VIP")
    o.billing = await f.queue(db, o.unit, "Billing")
    o.chat = await f.work_stream(db, o.unit, "Chat")
    o.lunch = await f.presence(db, o.unit, "Lunch")
    o.english = await f.named(db, m.Skill, o.unit, "English")
    o.spanish = await f.named(db, m.Skill, o.unit, "Spanish")
    o.sme = m.UserProfile(business_unit_id=o.unit.id, name="Subject Matter Experts", capacity=40)
    db.add(o.sme)
    await db.flush()
    await f.link(db, m.user_profile_queues, user_profile_id=o.sme.id, queue_id=o.vip.id)
    o.boss = await f.user(db, o.unit, "boss")
    await db.commit()
    return o


def full_input(o: Org, **overrides) -> dict:
    data = {
        "username": "Gilda.Moss",
        "firstName": "Gilda",
        "lastName": "Moss",
        "email": "gilda@example.com",
        "password": "correct horse battery",
        "passwordConfirmation": "correct horse battery",
        "teamId": f.gid("Team", o.team.id),
        "managerId": f.gid("User", o.boss.id),
        "securityProfileIds": [f.gid("SecurityProfile", o.agent.id)],
        "userProfileId": f.gid("UserProfile", o.sme.id),
        "timezone": "Europe/London",
        "country": "gb",
        "city": "London",
        "capacity": 50,
        "defaultPresenceId": f.gid("PresenceStatus", o.lunch.id),
        "queueIds": [f.gid("Queue", o.billing.id), f.gid("Queue", o.vip.id)],
        "workStreamIds": [f.gid("WorkStream", o.chat.id)],
        "skills": [
            {"skillId": f.gid("Skill", o.english.id), "proficiency": 1},
            {"skillId": f.gid("Skill", o.spanish.id), "proficiency": 7},
        ],
        "phone": {"type": "DESK_PHONE", "deskPhoneNumber": "+44 20 7946 0000", "autoAccept": True},
        "channelSettings": {
            "refusalTimeouts": [{"channel": "VOICE", "value": 30}],
            "dialingPattern": "UK",
            "agentVoiceThreshold": 40,
            "suppressRinging": True,
        },
        "omnichannel": {
            "maxContacts": [{"channel": "CHAT", "value": 3}],
            "deliveryMode": "MANUAL",
            "totalContactCount": 4,
        },
        "wfoRecording": {"systemDomain": "corp", "systemUsername": "gmoss", "phones": ["+44 1234"]},
        "wfmNotifications": {"email": True, "sms": False, "inApp": True},
        "accessMode": "READ_WRITE",
        "mailbox": "gilda@example.com",
        "organization": {"jobTitle": "Agent", "department": "Support", "employeeId": "E-1"},
        "contact": {"mainPhone": "+44 20 7946 0001"},
        "address": {"street1": "1 High St", "city": "London", "postalCode": "N1", "country": "GB"},
        "customFields": [{"slot": 1, "value": "Married"}],
    }
    return data | overrides


async def counts(db) -> dict:
    result = {}
    for model in (m.User, m.UserSkill, m.AuditEvent):
        result[model.__name__] = (await db.execute(select(func.count()).select_from(model))).scalar_one()
    for table in (m.user_queues, m.user_work_streams, m.user_security_profiles):
        result[table.name] = (await db.execute(select(func.count()).select_from(table))).scalar_one()
    return result


async def test_user_create_with_every_field_and_skills_in_one_go(admin_api, db):
    o = await org(db)
    data = await admin_api.data(CREATE, {"input": full_input(o)})
    payload = data["userCreate"]
    assert payload["userErrors"] == []
    u = payload["user"]
    assert u["username"] == "gilda.moss" and u["country"] == "GB" and u["version"] == 1
    assert u["team"] == {"name": "Tier 1"} and u["manager"] == {"username": "boss"}
    assert u["userProfile"] == {"name": "Subject Matter Experts"}
    assert [q["name"] for q in u["queues"]] == ["Billing", "VIP"]
    assert [(e["node"]["name"], e["proficiency"]) for e in u["skills"]["edges"]] == [
        ("English", 1),
        ("Spanish", 7),
    ]
    assert u["phone"] == {"type": "DESK_PHONE", "deskPhoneNumber": "+44 20 7946 0000", "autoAccept": True}
    assert u["omnichannel"]["deliveryMode"] == "MANUAL"
    assert u["wfoRecording"]["phones"] == ["+44 1234"]
    assert u["customFields"][0] == {"slot": 1, "label": "Marital Status", "value": "Married"}
    assert u["effectiveSettings"]["capacity"] == {"value": 50, "source": "USER"}
    assert sorted((q["value"]["name"], q["source"]) for q in u["effectiveSettings"]["queues"]) == [
        ("Billing", "USER"),
        ("VIP", "BOTH"),
    ]
    token = await admin_api.login("gilda.moss", "correct horse battery")
    assert token
    event = (await db.execute(select(m.AuditEvent).where(m.AuditEvent.action == "user.create"))).scalar_one()
    assert event.target_label == "gilda.moss" and event.changes["capacity"] == {"before": None, "after": 50}
    assert "password" not in str(event.changes) and "correct horse" not in str(event.changes)


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        ({"username": "boss"}, ["username"], "TAKEN"),
        ({"email": "not-an-email"}, ["email"], "INVALID"),
        ({"timezone": "Mars/Olympus"}, ["timezone"], "INVALID"),
        ({"country": "XX"}, ["country"], "INVALID"),
        ({"capacity": -1}, ["capacity"], "INVALID"),
        ({"passwordConfirmation": "something else"}, ["passwordConfirmation"], "PASSWORD_MISMATCH"),
        ({"password": "short", "passwordConfirmation": "short"}, ["password"], "PASSWORD_POLICY"),
        ({"securityProfileIds": []}, ["securityProfileIds"], "REQUIRED"),
        (
            {"skills": [{"skillId": "U2tpbGw6OTk5", "proficiency": 1}]},
            ["skills", "0", "skillId"],
            "NOT_FOUND",
        ),
        (
            {"skills": [{"skillId": "U2tpbGw6MQ==", "proficiency": 21}]},
            ["skills", "0", "proficiency"],
            "INVALID",
        ),
        ({"teamId": "VGVhbTo5OTk="}, ["teamId"], "NOT_FOUND"),
        ({"queueIds": ["VGVhbTox"]}, ["queueIds", "0"], "INVALID_ID"),
        (
            {"channelSettings": {"concurrentChats": 2}},
            ["channelSettings", "concurrentChats"],
            "FEATURE_DISABLED",
        ),
        ({"customFields": [{"slot": 6, "value": "x"}]}, ["customFields", "0", "slot"], "INVALID"),
    ],
)
async def test_user_create_refusals_change_nothing(admin_api, db, override, field, code):
    o = await org(db)
    before = await counts(db)
    payload = (await admin_api.data(CREATE, {"input": full_input(o, **override)}))["userCreate"]
    assert payload["user"] is None
    assert any(e["field"] == field and e["code"] == code for e in payload["userErrors"]), payload[
        "userErrors"
    ]
    assert await counts(db) == before


async def test_a_disabled_switch_names_the_switch(admin_api, db):
    o = await org(db)
    o.unit.wfo_enabled = False
    await db.commit()
    payload = (await admin_api.data(CREATE, {"input": full_input(o)}))["userCreate"]
    errors = {tuple(e["field"]): e for e in payload["userErrors"]}
    assert errors[("wfoRecording", "systemDomain")]["code"] == "FEATURE_DISABLED"
    assert "wfo" in errors[("wfoRecording", "systemDomain")]["message"]


async def test_random_password_profile_sets_a_password_and_refuses_a_typed_one(admin_api, db):
    o = await org(db)
    random = [f.gid("SecurityProfile", o.random.id)]
    typed = full_input(o, securityProfileIds=random)
    payload = (await admin_api.data(CREATE, {"input": typed}))["userCreate"]
    assert [e["code"] for e in payload["userErrors"]] == ["PASSWORD_NOT_ALLOWED"]
    generated = full_input(o, securityProfileIds=random, password=None, passwordConfirmation=None)
    payload = (await admin_api.data(CREATE, {"input": generated}))["userCreate"]
    assert payload["userErrors"] == []
    row = (await db.execute(select(m.User).where(m.User.username == "gilda.moss"))).scalar_one()
    assert row.password_hash and row.must_change_password


async def test_validate_only_returns_the_result_and_writes_nothing(admin_api, db):
    o = await org(db)
    before = await counts(db)
    payload = (await admin_api.data(CREATE, {"input": full_input(o, validateOnly=True)}))["userCreate"]
    assert payload["userErrors"] == []
    assert payload["user"]["effectiveSettings"]["capacity"] == {"value": 50, "source": "USER"}
    assert len(payload["user"]["skills"]["edges"]) == 2
    assert await counts(db) == before


async def _created(admin_api, o, **overrides) -> dict:
    payload = (await admin_api.data(CREATE, {"input": full_input(o, **overrides)}))["userCreate"]
    assert payload["userErrors"] == []
    return payload["user"]


async def test_update_is_partial_and_null_clears_an_override(admin_api, db):
    o = await org(db)
    user = await _created(admin_api, o)
    payload = (
        await admin_api.data(
            UPDATE, {"input": {"id": user["id"], "version": 1, "capacity": None, "city": "Leeds"}}
        )
    )["userUpdate"]
    assert payload["userErrors"] == []
    u = payload["user"]
    assert u["city"] == "Leeds" and u["capacity"] is None and u["version"] == 2
    assert u["effectiveSettings"]["capacity"] == {"value": 40, "source": "PROFILE"}
    assert u["email"] == "gilda@example.com" and [q["name"] for q in u["queues"]] == ["Billing", "VIP"]
    event = (await db.execute(select(m.AuditEvent).where(m.AuditEvent.action == "user.update"))).scalar_one()
    assert event.changes == {
        "capacity": {"before": 50, "after": None},
        "city": {"before": "London", "after": "Leeds"},
    }


async def test_two_updates_with_the_same_version_one_wins_the_other_conflicts(admin_api, db):
    o = await org(db)
    user = await _created(admin_api, o)
    first = (await admin_api.data(UPDATE, {"input": {"id": user["id"], "version": 1, "city": "Leeds"}}))[
        "userUpdate"
    ]
    second = (await admin_api.data(UPDATE, {"input": {"id": user["id"], "version": 1, "capacity": 7}}))[
        "userUpdate"
    ]
    assert first["userErrors"] == []
    assert [e["code"] for e in second["userErrors"]] == ["CONFLICT"]
    assert second["user"]["version"] == 2 and second["user"]["city"] == "Leeds"
    assert second["user"]["capacity"] == 50  # the stale write applied nothing


async def test_update_refusals_change_nothing(admin_api, db):
    o = await org(db)
    user = await _created(admin_api, o)
    before = await counts(db)
    bad = {"id": user["id"], "version": 1, "email": "nope", "city": "Leeds", "managerId": user["id"]}
    payload = (await admin_api.data(UPDATE, {"input": bad}))["userUpdate"]
    assert {e["code"] for e in payload["userErrors"]} == {"INVALID"}
    assert {tuple(e["field"]) for e in payload["userErrors"]} == {("email",), ("managerId",)}
    assert await counts(db) == before
    row = (await db.execute(select(m.User).where(m.User.username == "gilda.moss"))).scalar_one()
    assert row.city == "London" and row.version == 1


COPIED = {
    "team",
    "manager",
    "userProfile",
    "securityProfiles",
    "queues",
    "workStreams",
    "defaultPresence",
    "skills",
    "capacity",
    "timezone",
    "country",
    "city",
    "phone.type",
    "phone.autoAccept",
    "channelSettings",
    "omnichannel",
    "wfoRecording.systemDomain",
    "wfmNotifications",
    "accessMode",
    "organization.department",
    "effectiveSettings",
}
NOT_COPIED = {
    "username",
    "firstName",
    "lastName",
    "email",
    "phone.deskPhoneNumber",
    "mailbox",
    "wfoRecording.systemUsername",
    "wfoRecording.phones",
    "crmUsername",
    "organization.jobTitle",
    "organization.employeeId",
    "contact",
    "address",
    "customFields",
}


def pick(user: dict, path: str):
    for part in path.split("."):
        user = user[part]
    return user


async def test_user_copy_copies_exactly_the_documented_set(admin_api, db):
    o = await org(db)
    source = await _created(admin_api, o)
    payload = (
        await admin_api.data(
            COPY,
            {
                "input": {
                    "sourceUserId": source["id"],
                    "username": "ravi",
                    "firstName": "Ravi",
                    "lastName": "Kumar",
                    "email": "ravi@example.com",
                    "password": "another long password",
                    "passwordConfirmation": "another long password",
                }
            },
        )
    )["userCopy"]
    assert payload["userErrors"] == []
    copy = payload["user"]
    for path in COPIED:
        assert pick(copy, path) == pick(source, path), path
    blank = {"firstName", "lastName", "username", "email"}
    for path in NOT_COPIED:
        value = pick(copy, path)
        if path in blank:
            assert value != pick(source, path), path
        elif path == "customFields":
            assert all(c["value"] is None for c in value)
        elif isinstance(value, dict):
            assert all(v in (None, []) for v in value.values()), path
        else:
            assert value in (None, []), (path, value)
    assert "sessions" not in str(copy)


async def test_user_copy_never_copies_credentials(app, admin_api, db):
    o = await org(db)
    source = await _created(admin_api, o)
    await admin_api.data(
        COPY,
        {
            "input": {
                "sourceUserId": source["id"],
                "username": "ravi",
                "firstName": "Ravi",
                "lastName": "Kumar",
                "email": "ravi@example.com",
                "password": "another long password",
                "passwordConfirmation": "another long password",
            }
        },
    )
    rows = {u.username: u for u in (await db.execute(select(m.User))).scalars()}
    assert rows["ravi"].password_hash != rows["gilda.moss"].password_hash
    sessions = (
        await db.execute(
            select(func.count()).select_from(m.Session).where(m.Session.user_id == rows["ravi"].id)
        )
    ).scalar_one()
    assert sessions == 0


LIFE = """mutation($id: ID!) {
  d: userDisable(input: {id: $id}) { user { enabled } userErrors { code } } }"""


async def test_disable_then_enable_and_the_token_is_refused_on_the_very_next_request(admin_api, db, api):
    o = await org(db)
    user = await _created(admin_api, o)
    token = await admin_api.login("gilda.moss", "correct horse battery")
    assert (await api.data("{ viewer { username } }", token=token))["viewer"]["username"] == "gilda.moss"
    data = await admin_api.data(LIFE, {"id": user["id"]})
    assert data["d"] == {"user": {"enabled": False}, "userErrors": []}
    assert await api.refused("{ viewer { username } }", f"Bearer {token}") == "TOKEN_REVOKED"
    data = await admin_api.data(
        "mutation($id: ID!) { userEnable(input: {id: $id}) { user { enabled } } }", {"id": user["id"]}
    )
    assert data["userEnable"]["user"]["enabled"] is True
    assert await api.refused("{ viewer { username } }", f"Bearer {token}") == "TOKEN_REVOKED"  # not paused


async def test_delete_logs_the_user_out_and_the_audit_keeps_the_record(admin_api, db, api):
    o = await org(db)
    user = await _created(admin_api, o)
    token = await admin_api.login("gilda.moss", "correct horse battery")
    data = await admin_api.data(
        "mutation($id: ID!) { userDelete(input: {id: $id}) { deletedUserId userErrors { code } } }",
        {"id": user["id"]},
    )
    assert data["userDelete"] == {"deletedUserId": user["id"], "userErrors": []}
    assert await api.refused("{ users { totalCount } }", f"Bearer {token}") == "TOKEN_INVALID"
    trail = await admin_api.data(
        "query($t: ID!) { auditEvents(filter: {targetId: $t}) "
        "{ edges { node { action targetLabel actorUsername } } } }",
        {"t": user["id"]},
    )
    assert [e["node"] for e in trail["auditEvents"]["edges"]] == [
        {"action": "USER_DELETE", "targetLabel": "gilda.moss", "actorUsername": "admin"},
        {"action": "USER_CREATE", "targetLabel": "gilda.moss", "actorUsername": "admin"},
    ]


async def test_nobody_deletes_or_disables_themselves_or_the_master_administrator(admin_api, db):
    data = await admin_api.data("{ viewer { id } }")
    me = data["viewer"]["id"]
    for mutation in ("userDelete", "userDisable"):
        body = await admin_api.data(
            f"mutation($id: ID!) {{ {mutation}(input: {{id: $id}}) {{ userErrors {{ code }} }} }}", {"id": me}
        )
        assert body[mutation]["userErrors"] == [{"code": "NOT_ALLOWED"}]


async def test_assigning_a_second_profile_replaces_the_first(admin_api, db):
    o = await org(db)
    user = await _created(admin_api, o)
    other = m.UserProfile(business_unit_id=o.unit.id, name="Experienced Agents", capacity=60)
    db.add(other)
    await db.commit()
    data = await admin_api.data(
        "mutation($u: ID!, $p: ID) { userAssignProfile(input: {userId: $u, userProfileId: $p}) "
        "{ user { userProfile { name } } userErrors { code } } }",
        {"u": user["id"], "p": f.gid("UserProfile", other.id)},
    )
    assert data["userAssignProfile"]["user"]["userProfile"] == {"name": "Experienced Agents"}
    row = (await db.execute(select(m.User).where(m.User.username == "gilda.moss"))).scalar_one()
    await db.refresh(row)
    assert row.user_profile_id == other.id


async def test_concurrent_updates_with_one_version_one_wins_and_no_field_is_lost(admin_api, db):
    import asyncio

    o = await org(db)
    user = await _created(admin_api, o)
    a, b = await asyncio.gather(
        admin_api.data(UPDATE, {"input": {"id": user["id"], "version": 1, "city": "Leeds"}}),
        admin_api.data(UPDATE, {"input": {"id": user["id"], "version": 1, "capacity": 7}}),
    )
    outcomes = sorted([a["userUpdate"]["userErrors"], b["userUpdate"]["userErrors"]], key=len)
    assert outcomes[0] == [] and [e["code"] for e in outcomes[1]] == ["CONFLICT"]
    row = (await db.execute(select(m.User).where(m.User.username == "gilda.moss"))).scalar_one()
    await db.refresh(row)
    assert row.version == 2
    assert (row.city, row.capacity) in {("Leeds", 50), ("London", 7)}
