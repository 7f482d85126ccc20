"""Sign-in, sign-out, and tokens that stop working the moment their user does."""

from sqlalchemy import delete, select, update

from ccgraph.auth.tokens import token_hash
from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  token expiresAt viewer { username permissions } userErrors { field code message } } }"""
VIEWER = "{ viewer { username } }"


async def test_login_returns_a_token_the_viewer_and_effective_permissions(api, admin):
    data = await api.data(LOGIN, {"u": "ADMIN ", "p": ADMIN_PASSWORD})
    payload = data["login"]
    assert payload["userErrors"] == []
    assert payload["token"] and payload["expiresAt"]
    assert payload["viewer"]["username"] == "admin"
    assert set(payload["viewer"]["permissions"]) == {p.value for p in Permission}
    assert (await api.data(VIEWER, token=payload["token"]))["viewer"] == {"username": "admin"}


async def test_token_is_stored_only_as_a_hash(api, admin, db):
    token = await api.login("admin", ADMIN_PASSWORD)
    stored = (await db.execute(select(m.Session.token_hash))).scalars().all()
    assert stored == [token_hash(token)]
    assert token not in stored


async def test_wrong_password_and_unknown_user_get_the_same_error(api, admin):
    wrong = (await api.data(LOGIN, {"u": "admin", "p": "nope"}))["login"]
    unknown = (await api.data(LOGIN, {"u": "nobody", "p": "nope"}))["login"]
    assert wrong["token"] is None and unknown["token"] is None
    assert wrong["userErrors"] == unknown["userErrors"]
    assert wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert "exist" not in wrong["userErrors"][0]["message"]


async def test_no_token_means_no_viewer(api, admin):
    assert (await api.data(VIEWER))["viewer"] is None


async def test_a_made_up_token_is_refused_never_answered_as_anonymous(api, admin):
    assert await api.refused(VIEWER, "Bearer made-up") == "TOKEN_INVALID"
    assert await api.refused(VIEWER, "Bearer ") == "TOKEN_INVALID"
    assert await api.refused(VIEWER, "Basic YWRtaW46eA==") == "AUTHORIZATION_UNSUPPORTED"


async def test_logout_ends_the_session(api, admin):
    token = await api.login("admin", ADMIN_PASSWORD)
    assert (await api.data("mutation { logout { ok } }", token=token))["logout"]["ok"] is True
    assert await api.refused(VIEWER, f"Bearer {token}") == "TOKEN_REVOKED"


async def _agent(db, passwords):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [Permission.USERS_VIEW])
    agent = await f.user(
        db, unit, "agent", password="agent-password-1", passwords=passwords, profiles=[profile]
    )
    await db.commit()
    return agent


async def test_a_disabled_users_token_is_refused_on_the_next_request(app, api, admin, db):
    agent = await _agent(db, app.state.passwords)
    token = await api.login("agent", "agent-password-1")
    assert (await api.data("{ users { totalCount } }", token=token))["users"]["totalCount"] == 2
    await db.execute(update(m.User).where(m.User.id == agent.id).values(enabled=False))
    await db.commit()
    assert await api.refused("{ users { totalCount } }", f"Bearer {token}") == "USER_DISABLED"
    relogin = (await api.data(LOGIN, {"u": "agent", "p": "agent-password-1"}))["login"]
    assert relogin["token"] is None and relogin["userErrors"][0]["code"] == "USER_DISABLED"


async def test_a_deleted_users_token_is_refused_on_the_next_request(app, api, admin, db):
    agent = await _agent(db, app.state.passwords)
    token = await api.login("agent", "agent-password-1")
    await db.execute(delete(m.User).where(m.User.id == agent.id))
    await db.commit()
    assert await api.refused("{ users { totalCount } }", f"Bearer {token}") == "TOKEN_INVALID"


async def test_an_expired_token_is_refused(api, admin, db):
    from datetime import timedelta

    from ccgraph.db.base import utcnow

    token = await api.login("admin", ADMIN_PASSWORD)
    await db.execute(update(m.Session).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert await api.refused(VIEWER, f"Bearer {token}") == "TOKEN_EXPIRED"
