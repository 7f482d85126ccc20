"""The authority rule, case by case: the reproductions that let a narrow permission become the
master administrator, the master administrator's and the Administrator profile's protection,
bulk parity, and step-up for credential changes. The generated tests
(test_authority_escalation.py, test_authority_paths.py) cover every mutation and path."""

from __future__ import annotations

import base64
import csv
import io

from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from ccgraph.services.demo import load_demo
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD
from tests.test_bulk import csv_bytes, upload

P = Permission
PASSWORD = "password-1234-abc"


async def signed_in(app, api, db, name, permissions, **kw):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, list(permissions), name=f"{name} profile", **kw)
    user = await f.user(db, unit, name, password=PASSWORD, passwords=app.state.passwords, profiles=[profile])
    await db.commit()
    api.token = await api.login(name, PASSWORD)
    return user


async def master(db) -> m.User:
    return (await db.execute(select(m.User).where(m.User.is_master_admin))).scalar_one()


async def administrator_profile(db) -> m.SecurityProfile:
    query = select(m.SecurityProfile).where(m.SecurityProfile.is_administrator)
    return (await db.execute(query)).scalar_one()


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_an_access_key_creator_cannot_mint_a_key_for_the_master_administrator(app, api, admin, db):
    await signed_in(app, api, db, "keymaker", [P.ACCESS_KEY_CREATE])
    boss = await master(db)
    data = await api.data(
        "mutation($u: ID!) { accessKeyCreate(input: {userId: $u}) { secret userErrors { field code message } } }",
        {"u": f.gid("User", boss.id)},
    )
    refused = data["accessKeyCreate"]
    assert refused["secret"] is None
    assert refused["userErrors"][0]["code"] == "TARGET_OUTRANKS_ACTOR"
    assert refused["userErrors"][0]["field"] == ["userId"]
    assert "USERS_DELETE" in refused["userErrors"][0]["message"]  # it names what the actor lacks
    assert (await db.execute(select(func.count()).select_from(m.AccessKey))).scalar_one() == 0


async def test_the_demo_supervisor_cannot_take_over_the_master_administrator(app, api, admin, db):
    await load_demo(db)
    sam = (await db.execute(select(m.User).where(m.User.username == "sam.supervisor"))).scalar_one()
    sam.password_hash = await app.state.passwords.hash(PASSWORD)
    await db.commit()
    api.token = await api.login("sam.supervisor", PASSWORD)
    boss = await master(db)
    target = f.gid("User", boss.id)
    reset = await api.data(
        "mutation($u: ID!) { userPasswordReset(input: {userId: $u, password: $p, passwordConfirmation: $p}) "
        "{ userErrors { field code } } }".replace("$p", '"taken-over-12345"'),
        {"u": target},
    )
    assert "TARGET_OUTRANKS_ACTOR" in codes(reset["userPasswordReset"])
    supervisor = (
        await db.execute(select(m.SecurityProfile).where(m.SecurityProfile.name == "Supervisor"))
    ).scalar_one()
    for change in (
        {"email": "sam@example.com"},
        {"securityProfileIds": [f.gid("SecurityProfile", supervisor.id)]},
    ):
        for dry in (True, False):
            data = await api.data(
                "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { field code } } }",
                {"i": {"id": target, "version": boss.version, "validateOnly": dry, **change}},
            )
            assert "TARGET_OUTRANKS_ACTOR" in codes(data["userUpdate"]), (change, dry)
    await db.refresh(boss)
    assert boss.email == "admin@localhost" and not boss.must_change_password
    assert await api.login("admin", ADMIN_PASSWORD)  # still the administrator's own password


async def test_a_security_profile_editor_cannot_empty_the_administrator_profile(app, api, admin, db):
    await signed_in(app, api, db, "editor", [P.SECURITY_PROFILES_EDIT, P.SECURITY_PROFILES_VIEW])
    profile = await administrator_profile(db)
    mutation = (
        "mutation($i: SecurityProfileUpdateInput!) { securityProfileUpdate(input: $i) "
        "{ userErrors { field code message } } }"
    )
    data = await api.data(
        mutation,
        {"i": {"id": f.gid("SecurityProfile", profile.id), "version": profile.version, "permissions": []}},
    )
    assert "TARGET_OUTRANKS_ACTOR" in codes(data["securityProfileUpdate"])
    deleted = await api.data(
        "mutation($i: DeleteInput!) { securityProfileDelete(input: $i) { userErrors { code } } }",
        {"i": {"id": f.gid("SecurityProfile", profile.id)}},
    )
    assert "TARGET_OUTRANKS_ACTOR" in codes(deleted["securityProfileDelete"])
    await db.refresh(profile)
    assert set(profile.permissions) == {p.value for p in Permission}


async def test_the_administrator_profile_always_holds_every_permission_even_for_the_master(admin_api, db):
    profile = await administrator_profile(db)
    pid = f.gid("SecurityProfile", profile.id)
    narrowed = await admin_api.data(
        "mutation($i: SecurityProfileUpdateInput!) { securityProfileUpdate(input: $i) { userErrors { code } } }",
        {"i": {"id": pid, "version": profile.version, "permissions": ["USERS_VIEW"]}},
    )
    assert codes(narrowed["securityProfileUpdate"]) == ["ADMINISTRATOR_PROFILE_PROTECTED"]
    deleted = await admin_api.data(
        "mutation($i: DeleteInput!) { securityProfileDelete(input: $i) { userErrors { code } } }",
        {"i": {"id": pid, "validateOnly": True}},
    )
    assert "ADMINISTRATOR_PROFILE_PROTECTED" in codes(deleted["securityProfileDelete"])
    renamed = await admin_api.data(
        "mutation($i: SecurityProfileUpdateInput!) { securityProfileUpdate(input: $i) "
        "{ securityProfile { name } userErrors { code } } }",
        {"i": {"id": pid, "version": profile.version, "name": "Root", "description": "Everything."}},
    )
    assert renamed["securityProfileUpdate"] == {"securityProfile": {"name": "Root"}, "userErrors": []}


async def test_only_the_master_administrator_changes_their_identity_and_credentials(app, api, admin, db):
    """A second administrator holds every permission too: they may edit the master
    administrator's routing, but not their username, email, password, MFA, keys, profiles or state."""
    unit = await db.get(m.BusinessUnit, 1)
    await f.user(
        db,
        unit,
        "deputy",
        password=PASSWORD,
        passwords=app.state.passwords,
        profiles=[await administrator_profile(db)],
    )
    await db.commit()
    api.token = await api.login("deputy", PASSWORD)
    boss = await master(db)
    uid = f.gid("User", boss.id)
    refused = {
        "userPasswordReset": (
            "UserPasswordResetInput",
            {"userId": uid, "password": "x" * 14, "passwordConfirmation": "x" * 14},
        ),
        "userMfaClear": ("UserRefInput", {"userId": uid}),
        "accessKeyCreate": ("AccessKeyCreateInput", {"userId": uid}),
        "userDisable": ("UserIdInput", {"id": uid}),
    }
    for name, (input_type, value) in refused.items():
        data = await api.data(
            f"mutation($i: {input_type}!) {{ {name}(input: $i) {{ userErrors {{ code }} }} }}", {"i": value}
        )
        assert set(codes(data[name])) & {"MASTER_ADMINISTRATOR_PROTECTED", "NOT_ALLOWED"}, (name, data)
    update = (
        "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { city } userErrors { field code } } }"
    )
    email = await api.data(update, {"i": {"id": uid, "version": boss.version, "email": "deputy@example.com"}})
    assert email["userUpdate"]["userErrors"] == [
        {"field": ["email"], "code": "MASTER_ADMINISTRATOR_PROTECTED"}
    ]
    city = await api.data(update, {"i": {"id": uid, "version": boss.version, "city": "Leeds"}})
    assert city["userUpdate"] == {"user": {"city": "Leeds"}, "userErrors": []}


async def test_a_unit_is_never_left_without_a_user_holding_every_permission(app, admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    viewers = await f.security_profile(db, unit, [P.USERS_VIEW], name="Viewers")
    await db.commit()
    boss = await master(db)
    update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { field code } } }"
    change = {"id": f.gid("User", boss.id), "version": boss.version}
    change["securityProfileIds"] = [f.gid("SecurityProfile", viewers.id)]
    alone = await admin_api.data(update, {"i": change})
    assert alone["userUpdate"]["userErrors"] == [
        {"field": ["securityProfileIds"], "code": "LAST_ADMINISTRATOR"}
    ]
    await f.user(db, unit, "deputy", profiles=[await administrator_profile(db)])
    await db.commit()
    shared = await admin_api.data(update, {"i": change})
    assert shared["userUpdate"]["userErrors"] == []


async def test_bulk_rows_and_files_need_what_user_create_needs_for_the_same_input(app, api, admin, db):
    """Giving skills needs SKILLS_EDIT, from one rule, whichever way the user comes in."""
    await signed_in(app, api, db, "creator", [P.USERS_CREATE, P.USERS_EDIT])
    unit = await db.get(m.BusinessUnit, 1)
    skill = await f.named(db, m.Skill, unit, "Spanish")
    profile = await f.security_profile(db, unit, [], name="Plain")
    await db.commit()
    row = {
        "username": "newbie",
        "firstName": "New",
        "lastName": "Bie",
        "email": "newbie@example.com",
        "securityProfileIds": [f.gid("SecurityProfile", profile.id)],
        "skills": [{"skillId": f.gid("Skill", skill.id), "proficiency": 3}],
    }
    one = await api.data(
        "mutation($i: UserCreateInput!) { userCreate(input: $i) { userErrors { field code } } }",
        {"i": row | {"password": "newbie-password-1", "passwordConfirmation": "newbie-password-1"}},
    )
    many = await api.data(
        "mutation($i: UsersCreateInput!) { usersCreate(input: $i) { userErrors { field code } } }",
        {"i": {"users": [row]}},
    )
    content = csv_bytes(
        [
            ["username", "firstName", "lastName", "email", "securityProfiles", "skills"],
            ["newbie", "New", "Bie", "newbie@example.com", "Plain", "Spanish=3"],
        ]
    )
    filed = await upload(api, content)
    expected = {"field": ["skills"], "code": "PERMISSION_REQUIRED"}
    assert expected in one["userCreate"]["userErrors"]
    assert [e for e in many["usersCreate"]["userErrors"] if e["code"] == "PERMISSION_REQUIRED"] == [
        {"field": ["users", "0", "skills"], "code": "PERMISSION_REQUIRED"}
    ] or expected in many["usersCreate"]["userErrors"]
    assert "PERMISSION_REQUIRED" in [e["code"] for r in filed["results"] for e in r["errors"]]
    assert (await db.execute(select(func.count()).where(m.User.username == "newbie"))).scalar_one() == 0
    # userCopy needs Users Create as NICE says; copying a user who has skills gives them.
    skilled = await f.user(db, unit, "skilled", profiles=[profile])
    plain = await f.user(db, unit, "plain", profiles=[profile])
    db.add(m.UserSkill(user_id=skilled.id, skill_id=skill.id, proficiency=3, created_at=utcnow()))
    await db.commit()
    copy = "mutation($i: UserCopyInput!) { userCopy(input: $i) { userErrors { field code } } }"
    names = {"username": "copied", "firstName": "Co", "lastName": "Pied", "email": "copied@example.com"}
    refused = await api.data(copy, {"i": names | {"sourceUserId": f.gid("User", skilled.id)}})
    assert expected in refused["userCopy"]["userErrors"]
    copied = await api.data(copy, {"i": names | {"sourceUserId": f.gid("User", plain.id)}})
    assert not [e for e in copied["userCopy"]["userErrors"] if e["code"] == "PERMISSION_REQUIRED"]


async def test_nested_relations_need_the_objects_permission(app, api, admin, db):
    await load_demo(db)
    ravi = (await db.execute(select(m.User).where(m.User.username == "ravi.kumar"))).scalar_one()
    nobody = await f.security_profile(db, await db.get(m.BusinessUnit, 1), [], name="Nobody")
    ravi.password_hash = await app.state.passwords.hash(PASSWORD)
    await db.execute(m.user_security_profiles.delete().where(m.user_security_profiles.c.user_id == ravi.id))
    await f.link(db, m.user_security_profiles, user_id=ravi.id, security_profile_id=nobody.id)
    await db.commit()
    api.token = await api.login("ravi.kumar", PASSWORD)
    body = await api.post(
        "{ viewer { username email manager { email } team { users { nodes { email } } } } }"
    )
    assert body["data"]["viewer"] == {
        "username": "ravi.kumar",
        "email": "ravi.kumar@example.com",
        "manager": None,
        "team": None,
    }
    assert {e["extensions"]["missingPermissions"][0] for e in body["errors"]} == {"USERS_VIEW", "TEAMS_VIEW"}
    nobody.permissions = [P.USERS_VIEW.value]
    db.add(nobody)
    await db.commit()
    body = await api.post(
        "{ users(first: 2) { nodes { username team { name } userProfile { name } businessUnit { name } } } }"
    )
    assert body["data"] is not None, body
    nodes = body["data"]["users"]["nodes"]
    assert [n["team"] for n in nodes] == [None, None] and all(n["username"] for n in nodes)
    assert {e["extensions"]["missingPermissions"][0] for e in body["errors"]} == {
        "TEAMS_VIEW",
        "USER_PROFILES_VIEW",
        "BUSINESS_UNITS_VIEW",
    }


async def test_a_wrong_current_password_counts_toward_the_sign_in_lockout(app, api, admin, db, settings):
    await signed_in(app, api, db, "agent", [P.USERS_VIEW])
    change = (
        "mutation($c: String!) { viewerPasswordChange(input: {currentPassword: $c, "
        'newPassword: "another-password-99", newPasswordConfirmation: "another-password-99"}) '
        "{ userErrors { field code } } }"
    )
    for _ in range(settings.lockout_threshold):
        data = await api.data(change, {"c": "guessed-wrong-1"})
        assert data["viewerPasswordChange"]["userErrors"] == [
            {"field": ["currentPassword"], "code": "INVALID_CREDENTIALS"}
        ]
    locked = await api.data(change, {"c": PASSWORD})  # even the right one, until the window passes
    assert locked["viewerPasswordChange"]["userErrors"][0]["code"] == "LOCKED_OUT"
    login = await api.data(
        f'mutation {{ login(input: {{username: "agent", password: "{PASSWORD}"}}) {{ token userErrors {{ code }} }} }}',
        token="",
    )
    assert login["login"] == {"token": None, "userErrors": [{"code": "LOCKED_OUT"}]}


async def test_mfa_enrollment_needs_the_current_password(app, api, admin, db):
    user = await signed_in(app, api, db, "agent", [P.USERS_VIEW])
    enroll = "mutation($p: String!) { viewerMfaEnroll(input: {currentPassword: $p}) { secret userErrors { field code } } }"
    wrong = (await api.data(enroll, {"p": "not-my-password"}))["viewerMfaEnroll"]
    assert wrong == {
        "secret": None,
        "userErrors": [{"field": ["currentPassword"], "code": "INVALID_CREDENTIALS"}],
    }
    await db.refresh(user)
    assert user.mfa_secret_encrypted is None
    right = (await api.data(enroll, {"p": PASSWORD}))["viewerMfaEnroll"]
    assert right["secret"] and right["userErrors"] == []


async def test_an_export_leaves_out_what_its_reader_may_not_see(app, api, admin, db):
    """A file is a path too: a team's, profile's or skill's name needs the permission that
    `User.team` needs, so the export leaves those columns out (an import keeps them as they are)."""
    await load_demo(db)
    reader = await signed_in(app, api, db, "reader", [P.USERS_VIEW])
    query = "{ usersExport(format: CSV) { base64 } }"

    async def header() -> list[str]:
        content = base64.b64decode((await api.data(query))["usersExport"]["base64"]).decode()
        return next(csv.reader(io.StringIO(content)))

    narrow = await header()
    assert "username" in narrow and "manager" in narrow
    hidden = {"team", "userProfile", "defaultPresence", "securityProfiles", "queues", "workStreams", "skills"}
    assert not hidden & set(narrow)
    profile = (
        await db.execute(select(m.SecurityProfile).where(m.SecurityProfile.name == "reader profile"))
    ).scalar_one()
    profile.permissions = [p.value for p in Permission if p.name.endswith("_VIEW")]
    db.add(profile)
    await db.commit()
    assert hidden <= set(await header())
    assert reader.username == "reader"
