"""OAuth 2.0 client credentials at /oauth/token (RFC 6749 §4.4, answers per §5.1 and §5.2): a
partner trades an access key's id and secret for a short-lived bearer token that does no more
than the key, and ends with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ccgraph.auth.tokens import token_hash
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from tests import factories as f
from tests.test_access_keys import (
    ACTIVATE,
    DEACTIVATE,
    USERS,
    Key,
    forbidden,
    issue,
    partner,
    rename,
    someone,
)

pytestmark = pytest.mark.transport

GRANT = {"grant_type": "client_credentials"}
SESSIONS = "query($u: ID!) { user(id: $u) { sessions { id userAgent ipAddress expiresAt } } }"


@pytest.fixture
async def oauth(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the loopback address: Authlib refuses OAuth over plain http anywhere else."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def token_for(oauth: httpx.AsyncClient, key: Key, **form: str) -> httpx.Response:
    """A token request authenticated by HTTP Basic (client_secret_basic)."""
    return await oauth.post("/oauth/token", data={**GRANT, **form}, auth=(key.key_id, key.secret))


async def granted(oauth: httpx.AsyncClient, key: Key, **form: str) -> dict[str, Any]:
    response = await token_for(oauth, key, **form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refusal(response: httpx.Response, status: int) -> dict[str, Any]:
    """An error answer of RFC 6749 §5.2: the status, JSON with `error`, never cached."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert "access_token" not in body
    return body


async def test_http_basic_client_credentials_get_a_bearer_token_that_signs_graphql_in(
    app, admin_api, db, oauth
):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user)
    response = await token_for(oauth, key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "USERS_EDIT USERS_VIEW"  # no scope asked: all the key may do
    assert body["access_token"] not in (key.secret, key.key_id)

    token = body["access_token"]
    assert (await admin_api.data("{ viewer { username } }", token=token))["viewer"] == {"username": "partner"}
    edited = await rename(admin_api, f"Bearer {token}", target, "ByToken")
    assert edited["data"]["userUpdate"] == {"user": {"firstName": "ByToken"}, "userErrors": []}
    # only a hash of the token is kept
    stored = (
        (await db.execute(select(m.Session.token_hash).where(m.Session.user_id == user.id))).scalars().all()
    )
    assert len(stored) == 1 and token not in stored


async def test_the_token_lifetime_is_the_configured_one(app, admin_api, db, oauth, settings):
    assert settings.oauth_token_ttl_seconds == 3600
    user = await partner(db, app)
    key = await issue(admin_api, user)
    before = utcnow()
    await granted(oauth, key)
    expires = (
        await db.execute(select(m.Session.expires_at).where(m.Session.user_id == user.id))
    ).scalar_one()
    assert before + timedelta(seconds=3599) <= expires <= utcnow() + timedelta(seconds=3600)


async def test_client_credentials_in_the_form_get_a_token_too(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    response = await oauth.post(
        "/oauth/token", data={**GRANT, "client_id": key.key_id, "client_secret": key.secret}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert response.headers["cache-control"] == "no-store"
    assert (await admin_api.data(USERS, token=body["access_token"]))["users"]["totalCount"] == 2


async def test_a_token_narrowed_to_users_view_reads_but_cannot_write(app, admin_api, db, oauth):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user)
    body = await granted(oauth, key, scope="USERS_VIEW")
    assert body["scope"] == "USERS_VIEW"
    bearer = f"Bearer {body['access_token']}"
    assert (await admin_api.data(USERS, token=body["access_token"]))["users"]["totalCount"] == 3
    refused = await rename(admin_api, bearer, target, "Nope")
    assert forbidden(refused)
    # the key itself still may: the token's scope narrowed it
    assert (await rename(admin_api, key.header, target, "Yes"))["data"]["userUpdate"]["userErrors"] == []


async def test_a_token_never_gets_more_than_its_key(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user, scopes=["USERS_VIEW"])
    assert (await granted(oauth, key))["scope"] == "USERS_VIEW"
    beyond_key = refusal(await token_for(oauth, key, scope="USERS_VIEW USERS_EDIT"), 400)
    assert beyond_key["error"] == "invalid_scope" and "USERS_EDIT" in beyond_key["error_description"]
    beyond_user = refusal(await token_for(oauth, key, scope="USERS_DELETE"), 400)
    assert beyond_user["error"] == "invalid_scope"
    unknown = refusal(await token_for(oauth, key, scope="USERS_VIEW MAKE_COFFEE"), 400)
    assert unknown["error"] == "invalid_scope"
    tokens = (await db.execute(select(m.Session).where(m.Session.user_id == user.id))).scalars().all()
    assert len(tokens) == 1  # the refused requests issued nothing


async def test_bad_client_credentials_are_invalid_client_with_the_reason(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    wrong = await oauth.post("/oauth/token", data=GRANT, auth=(key.key_id, "x" * 40))
    body = refusal(wrong, 401)
    assert body["error"] == "invalid_client" and body["error_description"] == "ACCESS_KEY_INVALID"
    assert wrong.headers["www-authenticate"].startswith("Basic ")  # §5.2: the scheme the client used
    unknown = await oauth.post("/oauth/token", data=GRANT, auth=("AK" + "Z" * 18, key.secret))
    assert refusal(unknown, 401)["error"] == "invalid_client"
    anonymous = await oauth.post("/oauth/token", data=GRANT)
    assert refusal(anonymous, 401)["error"] == "invalid_client"

    await db.execute(
        update(m.AccessKey)
        .where(m.AccessKey.key_id == key.key_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    expired = refusal(await token_for(oauth, key), 401)
    assert expired["error"] == "invalid_client" and "ACCESS_KEY_EXPIRED" in expired["error_description"]

    other = await issue(admin_api, user)
    await admin_api.data(DEACTIVATE, {"k": other.id})
    deactivated = refusal(await token_for(oauth, other), 401)
    assert deactivated["error"] == "invalid_client"
    assert "ACCESS_KEY_DEACTIVATED" in deactivated["error_description"]
    assert (await db.execute(select(m.Session).where(m.Session.user_id == user.id))).first() is None


async def test_requests_the_token_endpoint_does_not_serve_are_refused_by_rfc_6749(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    password = refusal(
        await oauth.post("/oauth/token", data={"grant_type": "password"}, auth=(key.key_id, key.secret)), 400
    )
    assert password["error"] == "unsupported_grant_type"
    as_json = await oauth.post("/oauth/token", json=GRANT, auth=(key.key_id, key.secret))
    assert refusal(as_json, 400)["error"] == "invalid_request"
    assert (await oauth.get("/oauth/token")).status_code == 405
    assert (await db.execute(select(m.Session).where(m.Session.user_id == user.id))).first() is None


async def test_a_request_without_grant_type_is_an_invalid_request(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    response = await oauth.post("/oauth/token", data={"scope": "USERS_VIEW"}, auth=(key.key_id, key.secret))
    assert refusal(response, 400)["error"] == "invalid_request"


async def test_a_token_request_over_plain_http_is_refused_not_a_server_error(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ccgraph.example") as client:
        response = await client.post("/oauth/token", data=GRANT, auth=(key.key_id, key.secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"]


async def test_deactivating_the_key_ends_its_tokens_at_once(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    token = (await granted(oauth, key))["access_token"]
    assert (await admin_api.data(USERS, token=token))["users"]["totalCount"] == 2
    await admin_api.data(DEACTIVATE, {"k": key.id})
    assert await admin_api.refused(USERS, f"Bearer {token}") == "TOKEN_REVOKED"


async def test_a_token_ended_by_deactivation_stays_ended_when_the_key_is_reactivated(
    app, admin_api, db, oauth
):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    token = (await granted(oauth, key))["access_token"]
    await admin_api.data(DEACTIVATE, {"k": key.id})
    await admin_api.data(ACTIVATE, {"k": key.id})
    assert (await admin_api.data(USERS, token=(await granted(oauth, key))["access_token"]))["users"]
    assert await admin_api.refused(USERS, f"Bearer {token}") == "TOKEN_REVOKED"


async def test_a_token_loses_a_permission_the_moment_its_user_does(app, admin_api, db, oauth):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user)
    token = (await granted(oauth, key))["access_token"]
    [profile] = user.security_profiles
    await db.execute(
        update(m.SecurityProfile).where(m.SecurityProfile.id == profile.id).values(permissions=["USERS_VIEW"])
    )
    await db.commit()
    assert forbidden(await rename(admin_api, f"Bearer {token}", target, "Nope"))
    assert (await admin_api.data(USERS, token=token))["users"]["totalCount"] == 3


async def test_deleting_the_key_ends_its_tokens(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    token = (await granted(oauth, key))["access_token"]
    deleted = await admin_api.data(
        "mutation($k: ID!) { accessKeyDelete(input: {id: $k}) { userErrors { code } } }", {"k": key.id}
    )
    assert deleted["accessKeyDelete"]["userErrors"] == []
    assert await admin_api.refused(USERS, f"Bearer {token}") == "TOKEN_INVALID"


async def test_a_token_whose_expiry_passes_is_refused_and_so_is_one_whose_key_expires(
    app, admin_api, db, oauth
):
    user = await partner(db, app)
    key = await issue(admin_api, user, expiresAt=(utcnow() + timedelta(days=1)).isoformat())
    first = (await granted(oauth, key))["access_token"]
    second = (await granted(oauth, key))["access_token"]
    await db.execute(
        update(m.Session)
        .where(m.Session.token_hash == token_hash(first))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await admin_api.refused(USERS, f"Bearer {first}") == "TOKEN_EXPIRED"
    assert (await admin_api.data(USERS, token=second))["users"]["totalCount"] == 2
    # the key's own expiry ends the tokens issued to it, though theirs has not passed
    await db.execute(
        update(m.AccessKey)
        .where(m.AccessKey.key_id == key.key_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await admin_api.refused(USERS, f"Bearer {second}") == "TOKEN_EXPIRED"


async def test_the_token_is_listed_and_revoked_with_the_users_sessions(app, admin_api, db, oauth):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    response = await oauth.post(
        "/oauth/token", data=GRANT, auth=(key.key_id, key.secret), headers={"user-agent": "payroll-sync/2.1"}
    )
    token = response.json()["access_token"]
    uid = f.gid("User", user.id)
    [session] = (await admin_api.data(SESSIONS, {"u": uid}))["user"]["sessions"]
    assert session["userAgent"] == "payroll-sync/2.1" and session["ipAddress"] == "127.0.0.1"
    revoked = await admin_api.data(
        "mutation($u: ID!) { userSessionsRevokeAll(input: {userId: $u}) { revokedCount } }", {"u": uid}
    )
    assert revoked["userSessionsRevokeAll"]["revokedCount"] == 1
    assert await admin_api.refused(USERS, f"Bearer {token}") == "TOKEN_REVOKED"
    assert (await admin_api.data(SESSIONS, {"u": uid}))["user"]["sessions"] == []


async def test_a_token_request_records_the_keys_last_use(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.42", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await token_for(client, key)).status_code == 200
    row = (await db.execute(select(m.AccessKey).where(m.AccessKey.key_id == key.key_id))).scalar_one()
    assert row.last_used_from == "127.0.0.42" and row.last_used_at is not None
