"""Credentials (NICE 'Reset a User's Password', 'Configure a User's Access Key', 'Reset a
User's MFA Secret'), with mail delivered to a real SMTP server on loopback."""

import email
import logging
import re
import socket
import time
from datetime import timedelta

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from ccgraph.app import create_app
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD, Api


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Smtp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, smtp):
    """The suite's settings, with mail going to the loopback SMTP server (delivered on demand)."""
    return settings.with_(
        smtp_host="127.0.0.1", smtp_port=smtp.port, mail_poll_seconds=0, secret_key="test-key"
    )


RESET = """mutation($i: UserPasswordResetInput!) { userPasswordReset(input: $i) {
  user { mustChangePassword } userErrors { field code message } } }"""
CHANGE = """mutation($i: ViewerPasswordChangeInput!) { viewerPasswordChange(input: $i) {
  user { mustChangePassword } userErrors { field code } } }"""


async def agent(
    db, app, *, random: bool = False, password: str = "agent-password-1", permissions=(Permission.USERS_VIEW,)
):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(
        db,
        unit,
        list(permissions),
        generate_random_passwords=random,
        password_min_length=12,
        password_require_digit=True,
    )
    user = await f.user(
        db, unit, "agent", password=password, passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    return user


async def test_reset_under_a_random_policy_mails_a_password_that_signs_in(app, admin_api, api, db, smtp):
    user = await agent(db, app, random=True)
    old_token = await api.login("agent", "agent-password-1")
    typed = await admin_api.data(
        RESET,
        {"i": {"userId": f.gid("User", user.id), "password": "x" * 20, "passwordConfirmation": "x" * 20}},
    )
    assert typed["userPasswordReset"]["userErrors"][0]["code"] == "PASSWORD_NOT_ALLOWED"
    data = await admin_api.data(RESET, {"i": {"userId": f.gid("User", user.id)}})
    assert data["userPasswordReset"] == {"user": {"mustChangePassword": True}, "userErrors": []}
    assert await api.refused("{ viewer { username } }", f"Bearer {old_token}") == "TOKEN_REVOKED"

    assert smtp.inbox.messages == []  # in the outbox until the sender runs
    assert await app.state.mail_sender.deliver_due() == (1, 0)
    [message] = smtp.inbox.messages
    assert message["To"] == "agent@example.com" and message["Subject"] == "Your new password"
    text = message.get_payload(decode=True).decode()
    mailed = re.search(r"^ {4}(\S+)\r?$", text, re.M).group(1)

    token = await api.login("agent", mailed)
    body = await api.post("{ users { totalCount } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "PASSWORD_CHANGE_REQUIRED"
    changed = await api.data(
        CHANGE,
        {
            "i": {
                "currentPassword": mailed,
                "newPassword": "brand-new-pass-9",
                "newPasswordConfirmation": "brand-new-pass-9",
            }
        },
        token=token,
    )
    assert changed["viewerPasswordChange"] == {"user": {"mustChangePassword": False}, "userErrors": []}
    assert (await api.data("{ users { totalCount } }", token=token))["users"]["totalCount"] == 2
    outbox = (await db.execute(select(m.OutboxMail))).scalar_one()
    assert outbox.sent_at is not None and outbox.body == ""  # the password does not stay behind


async def test_reset_with_a_typed_password_checks_it_and_ends_every_session(app, admin_api, api, db):
    user = await agent(db, app)
    token = await api.login("agent", "agent-password-1")
    uid = f.gid("User", user.id)
    cases = [
        ({}, "REQUIRED"),
        ({"password": "abcdefghijkl9", "passwordConfirmation": "other"}, "PASSWORD_MISMATCH"),
        ({"password": "no-digits-here", "passwordConfirmation": "no-digits-here"}, "PASSWORD_POLICY"),
        ({"password": "short9", "passwordConfirmation": "short9"}, "PASSWORD_POLICY"),
    ]
    for given, code in cases:
        data = await admin_api.data(RESET, {"i": {"userId": uid, **given}})
        assert code in [e["code"] for e in data["userPasswordReset"]["userErrors"]], (given, data)
    assert (await api.data("{ viewer { username } }", token=token))["viewer"] == {"username": "agent"}
    data = await admin_api.data(
        RESET,
        {"i": {"userId": uid, "password": "typed-password-1", "passwordConfirmation": "typed-password-1"}},
    )
    assert data["userPasswordReset"]["userErrors"] == []
    assert await api.refused("{ viewer { username } }", f"Bearer {token}") == "TOKEN_REVOKED"
    assert await api.login("agent", "typed-password-1")


async def test_mail_survives_the_smtp_server_being_down(app, admin_api, db, smtp):
    user = await agent(db, app, random=True)
    smtp.stop()
    await admin_api.data(RESET, {"i": {"userId": f.gid("User", user.id)}})
    assert await app.state.mail_sender.deliver_due() == (0, 1)
    mail = (await db.execute(select(m.OutboxMail))).scalar_one()
    assert mail.sent_at is None and mail.attempts == 1 and mail.last_error
    assert mail.next_attempt_at > utcnow()  # backing off
    assert await app.state.mail_sender.deliver_due() == (0, 0)  # not due yet
    smtp.start()
    await db.execute(update(m.OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert await app.state.mail_sender.deliver_due() == (1, 0)
    assert len(smtp.inbox.messages) == 1


ENROLL = """mutation($p: String!) { viewerMfaEnroll(input: {currentPassword: $p}) {
  secret provisioningUri userErrors { code message } } }"""
CONFIRM = "mutation($c: String!) { viewerMfaConfirm(input: {code: $c}) { user { mfaEnabled } userErrors { code } } }"
LOGIN = """mutation($u: String!, $p: String!, $o: String) { login(input: {username: $u, password: $p, otp: $o}) {
  token userErrors { field code } } }"""


async def test_mfa_enroll_confirm_login_replay_and_clear(app, admin_api, api, db):
    user = await agent(db, app)
    token = await api.login("agent", "agent-password-1")
    enrolled = (await api.data(ENROLL, {"p": "agent-password-1"}, token=token))["viewerMfaEnroll"]
    secret = enrolled["secret"]
    assert enrolled["provisioningUri"].startswith("otpauth://totp/") and secret in enrolled["provisioningUri"]
    totp = pyotp.TOTP(secret)
    assert (await api.data(CONFIRM, {"c": "000000" if totp.now() != "000000" else "111111"}, token=token))[
        "viewerMfaConfirm"
    ]["userErrors"] == [{"code": "INVALID_OTP"}]
    assert (await api.data(CONFIRM, {"c": totp.now()}, token=token))["viewerMfaConfirm"] == {
        "user": {"mfaEnabled": True},
        "userErrors": [],
    }
    stored = (await db.execute(select(m.User.mfa_secret_encrypted).where(m.User.id == user.id))).scalar_one()
    assert secret not in stored  # sealed at rest

    no_code = (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1"}))["login"]
    assert no_code == {"token": None, "userErrors": [{"field": ["otp"], "code": "OTP_REQUIRED"}]}
    next_code = totp.at(time.time() + 30)  # the next step: inside the ±1 window, not yet used
    ok = (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1", "o": next_code}))["login"]
    assert ok["token"] and ok["userErrors"] == []
    replay = (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1", "o": next_code}))["login"]
    assert replay == {"token": None, "userErrors": [{"field": ["otp"], "code": "INVALID_OTP"}]}
    stale = totp.at(time.time() - 90)
    assert (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1", "o": stale}))["login"][
        "token"
    ] is None

    cleared = await admin_api.data(
        "mutation($u: ID!) { userMfaClear(input: {userId: $u}) { user { mfaEnabled } } }",
        {"u": f.gid("User", user.id)},
    )
    assert cleared["userMfaClear"]["user"]["mfaEnabled"] is False
    assert (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1"}))["login"]["token"]


async def test_mfa_for_the_master_administrator_is_refused_with_the_reason(admin_api):
    data = (await admin_api.data(ENROLL, {"p": ADMIN_PASSWORD}))["viewerMfaEnroll"]
    assert data["secret"] is None
    assert data["userErrors"][0]["code"] == "MASTER_ADMINISTRATOR"
    assert "nobody could reset it" in data["userErrors"][0]["message"]


KEY = """mutation($u: ID!) { accessKeyCreate(input: {userId: $u}) {
  accessKey { id accessKeyId active createdAt lastUsedAt } secret userErrors { code } } }"""


async def test_access_keys_secret_once_authenticate_limit_and_deactivate(app, admin_api, api, db):
    user = await agent(db, app)
    uid = f.gid("User", user.id)
    first = (await admin_api.data(KEY, {"u": uid}))["accessKeyCreate"]
    second = (await admin_api.data(KEY, {"u": uid}))["accessKeyCreate"]
    third = (await admin_api.data(KEY, {"u": uid}))["accessKeyCreate"]
    assert first["secret"] and second["secret"] and first["userErrors"] == []
    assert third == {"accessKey": None, "secret": None, "userErrors": [{"code": "LIMIT_REACHED"}]}
    stored = (await db.execute(select(m.AccessKey.secret_hash))).scalars().all()
    assert first["secret"] not in stored

    header = {"authorization": f"AccessKey {first['accessKey']['accessKeyId']}:{first['secret']}"}
    r = await api.client.post(
        "/graphql", json={"query": "{ viewer { username } users { totalCount } }"}, headers=header
    )
    assert r.json()["data"] == {"viewer": {"username": "agent"}, "users": {"totalCount": 2}}
    bad = f"AccessKey {first['accessKey']['accessKeyId']}:wrong"
    assert await api.refused("{ users { totalCount } }", bad) == "ACCESS_KEY_INVALID"

    listed = await admin_api.data(
        "query($u: ID!) { user(id: $u) { accessKeys { accessKeyId active lastUsedAt } } }", {"u": uid}
    )
    keys = listed["user"]["accessKeys"]
    assert len(keys) == 2 and keys[0]["lastUsedAt"] is not None
    assert first["secret"] not in str(listed)

    await admin_api.data(
        "mutation($k: ID!) { accessKeyDeactivate(input: {id: $k}) { accessKey { active } } }",
        {"k": first["accessKey"]["id"]},
    )
    assert await api.refused("{ users { totalCount } }", header["authorization"]) == "ACCESS_KEY_DEACTIVATED"
    assert (await admin_api.data(KEY, {"u": uid}))["accessKeyCreate"]["userErrors"] == []


async def test_a_disabled_users_access_keys_stop_working(app, admin_api, api, db):
    user = await agent(db, app)
    key = (await admin_api.data(KEY, {"u": f.gid("User", user.id)}))["accessKeyCreate"]
    header = {"authorization": f"AccessKey {key['accessKey']['accessKeyId']}:{key['secret']}"}
    await admin_api.data(
        "mutation($u: ID!) { userDisable(input: {id: $u}) { userErrors { code } } }",
        {"u": f.gid("User", user.id)},
    )
    # disabling a user deactivates their keys
    assert await api.refused("{ users { totalCount } }", header["authorization"]) == "ACCESS_KEY_DEACTIVATED"


async def test_sessions_are_listed_and_revoked(app, admin_api, api, db):
    user = await agent(db, app)
    one = await api.login("agent", "agent-password-1")
    two = await api.login("agent", "agent-password-1")
    mine = (await api.data("{ viewer { sessions { id current userAgent } } }", token=one))["viewer"][
        "sessions"
    ]
    assert [s["current"] for s in mine] == [True, False]
    other = mine[1]["id"]
    revoked = await api.data(
        "mutation($s: ID!) { sessionRevoke(input: {id: $s}) { session { id } userErrors { code } } }",
        {"s": other},
        token=one,
    )
    assert revoked["sessionRevoke"]["userErrors"] == []
    assert await api.refused("{ viewer { username } }", f"Bearer {two}") == "TOKEN_REVOKED"
    admin_view = await admin_api.data(
        "query($u: ID!) { user(id: $u) { sessions { id } } }", {"u": f.gid("User", user.id)}
    )
    assert len(admin_view["user"]["sessions"]) == 1
    data = await admin_api.data(
        "mutation($u: ID!) { userSessionsRevokeAll(input: {userId: $u}) { revokedCount } }",
        {"u": f.gid("User", user.id)},
    )
    assert data["userSessionsRevokeAll"]["revokedCount"] == 1
    assert await api.refused("{ viewer { username } }", f"Bearer {one}") == "TOKEN_REVOKED"


async def test_another_users_sessions_need_users_edit(app, api, admin, db):
    await agent(db, app)
    token = await api.login("agent", "agent-password-1")
    body = await api.post(
        "query($u: ID!) { user(id: $u) { sessions { id } } }", {"u": f.gid("User", 1)}, token=token
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_ten_failures_lock_the_username_for_a_while_known_or_not(app, api, admin, db):
    await agent(db, app)
    for _ in range(10):
        assert (await api.data(LOGIN, {"u": "agent", "p": "wrong"}))["login"]["userErrors"][0][
            "code"
        ] == "INVALID_CREDENTIALS"
        await api.data(LOGIN, {"u": "ghost", "p": "wrong"})
    locked = (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1"}))["login"]
    ghost = (await api.data(LOGIN, {"u": "ghost", "p": "wrong"}))["login"]
    assert locked == {"token": None, "userErrors": [{"field": None, "code": "LOCKED_OUT"}]}
    assert ghost == locked  # says nothing of whether the username exists
    assert (await api.data(LOGIN, {"u": "admin", "p": ADMIN_PASSWORD}))["login"]["token"]  # others unaffected
    # the lock lasts the window from the last failure, then a right password works again
    for attempt in (await db.execute(select(m.LoginAttempt))).scalars():
        attempt.attempted_at -= timedelta(minutes=16)
    await db.commit()
    assert (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1"}))["login"]["token"]


async def test_the_hash_is_renewed_when_the_argon2_cost_changes(app, admin, db, settings):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [])
    user = await f.user(
        db, unit, "agent", password="agent-password-1", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    assert "m=8,t=1" in user.password_hash
    stronger = create_app(settings.with_(argon2_memory_kib=16, argon2_time_cost=2))  # same database
    async with stronger.router.lifespan_context(stronger):
        transport = httpx.ASGITransport(app=stronger)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert await Api(client).login("agent", "agent-password-1")
    renewed = (await db.execute(select(m.User.password_hash).where(m.User.id == user.id))).scalar_one()
    assert "m=16,t=2" in renewed


async def test_no_secret_password_or_hash_in_results_audit_or_logs(app, admin_api, api, db, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    user = await agent(db, app)
    uid = f.gid("User", user.id)
    seen: list[str] = []
    reset = await admin_api.post(
        RESET,
        {"i": {"userId": uid, "password": "plain-secret-77", "passwordConfirmation": "plain-secret-77"}},
    )
    seen.append(str(reset))
    key = (await admin_api.data(KEY, {"u": uid}))["accessKeyCreate"]
    token = await api.login("agent", "plain-secret-77")
    await api.data(
        CHANGE,
        {
            "i": {
                "currentPassword": "plain-secret-77",
                "newPassword": "plain-secret-88",
                "newPasswordConfirmation": "plain-secret-88",
            }
        },
        token=token,
    )
    enroll = (await api.data(ENROLL, {"p": "plain-secret-88"}, token=token))["viewerMfaEnroll"]
    everything = await admin_api.post(
        "query($u: ID!) { user(id: $u) { username mfaEnabled mustChangePassword accessKeys { accessKeyId } "
        "sessions { id } } auditEvents(first: 100) { edges { node { action changes } } } }",
        {"u": uid},
    )
    seen.append(str(everything))
    hashes = [(await db.execute(select(m.User.password_hash).where(m.User.id == user.id))).scalar_one()]
    audit_rows = str([(e.action, e.changes) for e in (await db.execute(select(m.AuditEvent))).scalars()])
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("plain-secret-77", "plain-secret-88", key["secret"], enroll["secret"], token, *hashes):
        assert secret not in logs
        assert secret not in audit_rows
        assert secret not in "".join(seen)
    assert "$argon2" not in "".join(seen) + audit_rows + logs
