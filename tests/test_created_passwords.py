"""Passwords of new users (NICE 004 'Create a User', 'Reset a User's Password'): under a
"generate random passwords" profile every path that creates a user (single, many, file,
copy) mails them a generated password, which signs in and must then be changed; under
another profile a file's user has no password and its row says a reset is needed."""

import json
import re

from sqlalchemy import func, select

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f
from tests.test_credentials import settings, smtp  # noqa: F401  (mail goes to a loopback SMTP server)

PASSWORD_LINE = re.compile(r"^ {4}(\S+)\r?$", re.M)
PAYLOAD = "user { username mustChangePassword } userErrors { field code }"
CREATE = f"mutation($i: UserCreateInput!) {{ userCreate(input: $i) {{ {PAYLOAD} }} }}"
COPY = f"mutation($i: UserCopyInput!) {{ userCopy(input: $i) {{ {PAYLOAD} }} }}"
MANY = """mutation($i: UsersCreateInput!) { usersCreate(input: $i) {
  results { user { username mustChangePassword } passwordResetNeeded userErrors { field code } } } }"""
IMPORT = """mutation($file: Upload!, $dry: Boolean!) {
  usersImport(input: {file: $file, format: CSV, validateOnly: $dry}) {
  results { row action user { username mustChangePassword } passwordResetNeeded errors { column code } }
  userErrors { code } } }"""


async def profiles(db) -> tuple[m.SecurityProfile, m.SecurityProfile]:
    unit = await db.get(m.BusinessUnit, 1)
    random = await f.security_profile(
        db, unit, [Permission.USERS_VIEW], name="Random", generate_random_passwords=True
    )
    agent = await f.security_profile(db, unit, [Permission.USERS_VIEW], name="Agent")
    await db.commit()
    return random, agent


def newcomer(username: str, profile: m.SecurityProfile, **extra) -> dict:
    return {
        "username": username,
        "firstName": "New",
        "lastName": username.title(),
        "email": f"{username}@example.com",
        "securityProfileIds": [f.gid("SecurityProfile", profile.id)],
        **extra,
    }


async def outbox(db) -> dict[str, m.OutboxMail]:
    mails = (await db.execute(select(m.OutboxMail))).scalars().all()
    await db.commit()  # end the read, so the next one sees what the API wrote since
    return {mail.to_address: mail for mail in mails}


async def users(db) -> int:
    value = (await db.execute(select(func.count()).select_from(m.User))).scalar_one()
    await db.commit()
    return value


async def signs_in_once(api, db, username: str) -> str:
    """The password mailed to `username` signs in, and the session must change it first."""
    mail = (await outbox(db))[f"{username}@example.com"]
    assert mail.subject == "Your new account" and username in mail.body
    password = PASSWORD_LINE.search(mail.body).group(1)
    token = await api.login(username, password)
    body = await api.post("{ users { totalCount } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "PASSWORD_CHANGE_REQUIRED"
    viewer = await api.data("{ viewer { mustChangePassword } }", token=token)
    assert viewer == {"viewer": {"mustChangePassword": True}}
    return password


async def upload(api, rows: list[list[str]], *, dry: bool = False) -> dict:
    content = "\n".join(",".join(row) for row in rows).encode()
    operations = {"query": IMPORT, "variables": {"file": None, "dry": dry}}
    response = await api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", content, "text/csv")},
        headers={"authorization": f"Bearer {api.token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["usersImport"]


FILE_HEADER = ["username", "firstName", "lastName", "email", "securityProfiles"]


def file_row(username: str, profile: str) -> list[str]:
    return [username, "Filed", username.title(), f"{username}@example.com", profile]


async def test_user_create_under_a_random_profile_mails_a_password_that_signs_in_once(
    app,
    admin_api,
    db,
    smtp,  # noqa: F811  (the fixture imported above)
):
    random, _ = await profiles(db)
    data = (await admin_api.data(CREATE, {"i": newcomer("gilda", random)}))["userCreate"]
    assert data == {"user": {"username": "gilda", "mustChangePassword": True}, "userErrors": []}
    password = await signs_in_once(admin_api, db, "gilda")

    assert await app.state.mail_sender.deliver_due() == (1, 0)
    [message] = smtp.inbox.messages
    assert message["To"] == "gilda@example.com" and password in message.get_payload(decode=True).decode()
    event = (await db.execute(select(m.AuditEvent).where(m.AuditEvent.action == "user.create"))).scalar_one()
    assert event.changes["passwordGenerated"] == {"before": None, "after": True}
    assert password not in json.dumps(event.changes)


async def test_users_create_mails_each_new_user_a_password_of_their_own(admin_api, db):
    random, _ = await profiles(db)
    rows = [newcomer("ann", random), newcomer("bob", random, email="not-an-email"), newcomer("cyd", random)]
    data = (await admin_api.data(MANY, {"i": {"users": rows, "atomic": False}}))["usersCreate"]
    assert [(r["user"], r["passwordResetNeeded"]) for r in data["results"]] == [
        ({"username": "ann", "mustChangePassword": True}, False),
        (None, False),
        ({"username": "cyd", "mustChangePassword": True}, False),
    ]
    assert sorted(await outbox(db)) == ["ann@example.com", "cyd@example.com"]  # none for the refused row
    assert await signs_in_once(admin_api, db, "ann") != await signs_in_once(admin_api, db, "cyd")


async def test_a_file_mails_a_password_under_a_random_profile_and_flags_a_reset_under_another(admin_api, db):
    await profiles(db)
    rows = [FILE_HEADER, file_row("filed1", "Random"), file_row("filed2", "Agent")]
    data = await upload(admin_api, rows)
    assert data["userErrors"] == []
    assert [(r["action"], r["user"], r["passwordResetNeeded"]) for r in data["results"]] == [
        ("CREATED", {"username": "filed1", "mustChangePassword": True}, False),
        ("CREATED", {"username": "filed2", "mustChangePassword": False}, True),
    ]
    await signs_in_once(admin_api, db, "filed1")
    assert "filed2@example.com" not in await outbox(db)
    hashed = (await db.execute(select(m.User.password_hash).where(m.User.username == "filed2"))).scalar_one()
    assert hashed is None


async def test_a_copy_of_a_user_under_a_random_profile_is_mailed_a_password(admin_api, db):
    random, _ = await profiles(db)
    source = await f.user(db, await db.get(m.BusinessUnit, 1), "source", profiles=[random])
    await db.commit()
    given = {"sourceUserId": f.gid("User", source.id)} | {
        k: v for k, v in newcomer("copied", random).items() if k != "securityProfileIds"
    }
    data = (await admin_api.data(COPY, {"i": given}))["userCopy"]
    assert data == {"user": {"username": "copied", "mustChangePassword": True}, "userErrors": []}
    await signs_in_once(admin_api, db, "copied")


async def test_a_password_is_still_required_under_a_profile_that_does_not_generate_one(admin_api, db):
    _, agent = await profiles(db)
    data = (await admin_api.data(CREATE, {"i": newcomer("typed", agent)}))["userCreate"]
    assert data["userErrors"] == [{"field": ["password"], "code": "REQUIRED"}]
    typed = {"password": "long-enough-password", "passwordConfirmation": "long-enough-password"}
    data = (await admin_api.data(MANY, {"i": {"users": [newcomer("typed", agent, **typed)]}}))["usersCreate"]
    assert data["results"][0]["passwordResetNeeded"] is False
    assert data["results"][0]["user"]["mustChangePassword"] is False
    assert await admin_api.login("typed", "long-enough-password")
    assert await outbox(db) == {}


async def test_validate_only_hashes_and_mails_nothing_on_any_path(admin_api, db):
    random, _ = await profiles(db)
    source = await f.user(db, await db.get(m.BusinessUnit, 1), "source", profiles=[random])
    await db.commit()
    before = await users(db)
    dry = {"validateOnly": True}
    data = await admin_api.data(CREATE, {"i": newcomer("dry1", random, **dry)})
    assert data["userCreate"]["userErrors"] == []
    data = await admin_api.data(MANY, {"i": {"users": [newcomer("dry2", random)], **dry}})
    assert data["usersCreate"]["results"][0]["passwordResetNeeded"] is False
    copy = {"sourceUserId": f.gid("User", source.id), "username": "dry3", "firstName": "D", "lastName": "D"}
    data = await admin_api.data(COPY, {"i": copy | {"email": "dry3@example.com", **dry}})
    assert data["userCopy"]["userErrors"] == []
    data = await upload(
        admin_api, [FILE_HEADER, file_row("dry4", "Random"), file_row("dry5", "Agent")], dry=True
    )
    assert [r["passwordResetNeeded"] for r in data["results"]] == [False, True]  # what a real run would say
    assert await outbox(db) == {}
    assert await users(db) == before
