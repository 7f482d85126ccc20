"""Access keys a security officer accepts (NICE 'Configure a User's Access Key', issue 22):
scoped to some of their user's permissions and never more, expiring, rotated with an overlap,
reactivated, renamed; every refused credential answers 401 with the reason, over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD, Api

pytestmark = pytest.mark.transport

VIEW, EDIT = Permission.USERS_VIEW, Permission.USERS_EDIT
KEY_FIELDS = "id accessKeyId name description scopes expiresAt active createdAt lastUsedAt lastUsedFrom"
CREATE = f"""mutation($i: AccessKeyCreateInput!) {{ accessKeyCreate(input: $i) {{
  accessKey {{ {KEY_FIELDS} }} secret userErrors {{ field code message }} }} }}"""
ROTATE = f"""mutation($k: ID!) {{ accessKeyRotate(input: {{id: $k}}) {{
  accessKey {{ {KEY_FIELDS} }} secret userErrors {{ field code }} }} }}"""
UPDATE = f"""mutation($i: AccessKeyUpdateInput!) {{ accessKeyUpdate(input: $i) {{
  accessKey {{ {KEY_FIELDS} }} userErrors {{ field code }} changes {{ field before after }} }} }}"""
ACTIVATE = f"""mutation($k: ID!) {{ accessKeyActivate(input: {{id: $k}}) {{
  accessKey {{ {KEY_FIELDS} }} userErrors {{ field code }} }} }}"""
DEACTIVATE = """mutation($k: ID!) { accessKeyDeactivate(input: {id: $k}) {
  accessKey { active } userErrors { field code } } }"""
KEYS = f"query($u: ID!) {{ user(id: $u) {{ accessKeys {{ {KEY_FIELDS} }} }} }}"
USERS = "{ users { totalCount } }"
EDIT_USER = """mutation($i: UserUpdateInput!) { userUpdate(input: $i) {
  user { firstName } userErrors { field code } } }"""


@dataclass(frozen=True)
class Key:
    """A key as its creator saw it: the node, and the secret shown that once."""

    node: dict[str, Any]
    secret: str

    @property
    def id(self) -> str:
        return str(self.node["id"])

    @property
    def key_id(self) -> str:
        return str(self.node["accessKeyId"])

    @property
    def header(self) -> str:
        return f"AccessKey {self.key_id}:{self.secret}"


async def partner(db: Any, app: Any, permissions: tuple[Permission, ...] = (VIEW, EDIT)) -> m.User:
    """The user a partner integration signs in as, holding `permissions` through one profile."""
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, list(permissions), name="Integration")
    user = await f.user(
        db, unit, "partner", password="partner-password-1", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    return user


async def someone(db: Any) -> m.User:
    """A user holding nothing, whom anyone with USERS_EDIT may change."""
    unit = await db.get(m.BusinessUnit, 1)
    user = await f.user(db, unit, "target")
    await db.commit()
    return user


async def create(admin_api: Api, user: m.User, **terms: Any) -> dict[str, Any]:
    data = await admin_api.data(CREATE, {"i": {"userId": f.gid("User", user.id), **terms}})
    payload: dict[str, Any] = data["accessKeyCreate"]
    return payload


async def issue(admin_api: Api, user: m.User, **terms: Any) -> Key:
    payload = await create(admin_api, user, **terms)
    assert payload["userErrors"] == [], payload
    return Key(payload["accessKey"], payload["secret"])


async def signed(api: Api, authorization: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """A request signed with `authorization`, answered 200: its GraphQL body."""
    response = await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": authorization},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def rename(api: Api, authorization: str, user: m.User, first_name: str) -> Any:
    """userUpdate of `user`'s first name (USERS_EDIT), signed with `authorization`."""
    variables = {"i": {"id": f.gid("User", user.id), "version": user.version, "firstName": first_name}}
    return await signed(api, authorization, EDIT_USER, variables)


def forbidden(body: dict[str, Any]) -> bool:
    return [e["extensions"]["code"] for e in body.get("errors", [])] == ["FORBIDDEN"]


async def listed(admin_api: Api, user: m.User) -> list[dict[str, Any]]:
    data = await admin_api.data(KEYS, {"u": f.gid("User", user.id)})
    keys: list[dict[str, Any]] = data["user"]["accessKeys"]
    return keys


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def audit_actions(db: Any, action: str) -> list[m.AuditEvent]:
    rows = await db.execute(
        select(m.AuditEvent).where(m.AuditEvent.action == action).order_by(m.AuditEvent.id)
    )
    return list(rows.scalars())


# --- scopes -------------------------------------------------------------------------------


async def test_a_key_scoped_to_users_view_reads_users_but_cannot_edit_one(app, admin_api, db):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user, scopes=["USERS_VIEW"])
    assert key.node["scopes"] == ["USERS_VIEW"]
    assert (await signed(admin_api, key.header, USERS))["data"]["users"]["totalCount"] == 3
    refused = await rename(admin_api, key.header, target, "Renamed")
    assert forbidden(refused) and refused["data"] is None
    # the user themselves could: the scope, not the user, stopped it
    token = await admin_api.login("partner", "partner-password-1")
    assert (await rename(admin_api, f"Bearer {token}", target, "ByHand"))["data"]["userUpdate"] == {
        "user": {"firstName": "ByHand"},
        "userErrors": [],
    }


async def test_an_unscoped_key_acts_with_all_of_its_users_permissions_and_no_more(app, admin_api, db):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user)
    assert key.node["scopes"] is None
    edited = await rename(admin_api, key.header, target, "Renamed")
    assert edited["data"]["userUpdate"] == {"user": {"firstName": "Renamed"}, "userErrors": []}
    # a permission the user lacks, the key lacks too
    assert forbidden(await signed(admin_api, key.header, "{ securityProfiles { totalCount } }"))


async def test_a_scope_the_user_does_not_hold_is_refused_and_nothing_is_written(app, admin_api, db):
    user = await partner(db, app, (VIEW,))
    payload = await create(admin_api, user, name="Payroll", scopes=["USERS_VIEW", "USERS_DELETE"])
    assert payload["accessKey"] is None and payload["secret"] is None
    [error] = payload["userErrors"]
    assert error["field"] == ["scopes"] and error["code"] == "SCOPE_NOT_HELD"
    assert "USERS_DELETE" in error["message"] and "USERS_VIEW" not in error["message"]
    assert (await db.execute(select(func.count()).select_from(m.AccessKey))).scalar_one() == 0
    assert await audit_actions(db, "accessKey.create") == []


async def test_empty_scopes_are_refused_rather_than_read_as_all(app, admin_api, db):
    user = await partner(db, app)
    payload = await create(admin_api, user, scopes=[])
    assert payload["accessKey"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["scopes"], "INVALID")]
    assert (await db.execute(select(func.count()).select_from(m.AccessKey))).scalar_one() == 0


async def test_a_key_loses_a_permission_the_moment_its_user_does(app, admin_api, db):
    user = await partner(db, app)
    target = await someone(db)
    key = await issue(admin_api, user, scopes=["USERS_VIEW", "USERS_EDIT"])
    assert (await rename(admin_api, key.header, target, "Before"))["data"]["userUpdate"]["userErrors"] == []
    [profile] = user.security_profiles
    lost = await admin_api.data(
        "mutation($i: SecurityProfileUpdateInput!) { securityProfileUpdate(input: $i) { userErrors { code } } }",
        {
            "i": {
                "id": f.gid("SecurityProfile", profile.id),
                "version": profile.version,
                "permissions": ["USERS_VIEW"],
            }
        },
    )
    assert lost["securityProfileUpdate"]["userErrors"] == []
    assert forbidden(await rename(admin_api, key.header, target, "After"))
    # the key still names the scope; it is the user who no longer holds it
    [shown] = await listed(admin_api, user)
    assert shown["scopes"] == ["USERS_EDIT", "USERS_VIEW"]
    assert (await signed(admin_api, key.header, USERS))["data"]["users"]["totalCount"] == 3


async def test_rotation_keeps_only_the_scopes_the_user_still_holds(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user, scopes=["USERS_VIEW", "USERS_EDIT"])
    [profile] = user.security_profiles
    await db.execute(
        update(m.SecurityProfile).where(m.SecurityProfile.id == profile.id).values(permissions=["USERS_VIEW"])
    )
    await db.commit()
    successor = (await admin_api.data(ROTATE, {"k": key.id}))["accessKeyRotate"]
    assert successor["userErrors"] == [] and successor["accessKey"]["scopes"] == ["USERS_VIEW"]


# --- expiry and rotation ------------------------------------------------------------------


async def test_an_expiry_in_the_past_is_refused(app, admin_api, db):
    user = await partner(db, app)
    payload = await create(admin_api, user, expiresAt=(utcnow() - timedelta(minutes=1)).isoformat())
    assert payload["accessKey"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["expiresAt"], "INVALID")]
    assert (await db.execute(select(func.count()).select_from(m.AccessKey))).scalar_one() == 0


async def test_a_key_whose_expiry_passes_is_refused_and_cannot_be_reactivated(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user, expiresAt=(utcnow() + timedelta(days=1)).isoformat())
    assert (await signed(admin_api, key.header, USERS))["data"]["users"]["totalCount"] == 2
    await db.execute(
        update(m.AccessKey)
        .where(m.AccessKey.key_id == key.key_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await admin_api.refused(USERS, key.header) == "ACCESS_KEY_EXPIRED"
    await admin_api.data(DEACTIVATE, {"k": key.id})
    again = (await admin_api.data(ACTIVATE, {"k": key.id}))["accessKeyActivate"]
    assert again["accessKey"] is None and again["userErrors"] == [{"field": ["id"], "code": "EXPIRED"}]
    [shown] = await listed(admin_api, user)
    assert shown["active"] is False


async def test_rotating_an_expiring_key_gives_a_successor_as_long_lived_from_now_with_an_overlap(
    app, admin_api, db
):
    user = await partner(db, app)
    old = await issue(
        admin_api,
        user,
        name="Payroll",
        description="Nightly sync",
        scopes=["USERS_VIEW"],
        expiresAt=(utcnow() + timedelta(days=10)).isoformat(),
    )
    # created four days ago: six days left of a ten-day lifetime
    four_days = timedelta(days=4)
    row = (await db.execute(select(m.AccessKey).where(m.AccessKey.key_id == old.key_id))).scalar_one()
    row.created_at -= four_days
    row.expires_at -= four_days
    await db.commit()
    rotated = (await admin_api.data(ROTATE, {"k": old.id}))["accessKeyRotate"]
    assert rotated["userErrors"] == [] and rotated["secret"]
    new = Key(rotated["accessKey"], rotated["secret"])
    assert new.key_id != old.key_id and new.secret != old.secret
    assert {k: new.node[k] for k in ("name", "description", "scopes", "active")} == {
        "name": "Payroll",
        "description": "Nightly sync",
        "scopes": ["USERS_VIEW"],
        "active": True,
    }
    lifetime = moment(new.node["expiresAt"]) - moment(new.node["createdAt"])
    assert abs(lifetime - timedelta(days=10)) < timedelta(minutes=1)
    assert abs(moment(new.node["expiresAt"]) - (utcnow() + timedelta(days=10))) < timedelta(minutes=1)

    # the overlap: both keys sign in until the old one is deactivated
    for key in (old, new):
        assert (await signed(admin_api, key.header, USERS))["data"]["users"]["totalCount"] == 2
    full = (await admin_api.data(ROTATE, {"k": new.id}))["accessKeyRotate"]
    assert full["accessKey"] is None and full["userErrors"] == [{"field": ["id"], "code": "LIMIT_REACHED"}]
    third = await create(admin_api, user)
    assert [e["code"] for e in third["userErrors"]] == ["LIMIT_REACHED"]
    await admin_api.data(DEACTIVATE, {"k": old.id})
    assert await admin_api.refused(USERS, old.header) == "ACCESS_KEY_DEACTIVATED"
    assert (await signed(admin_api, new.header, USERS))["data"]["users"]["totalCount"] == 2


async def test_rotating_a_key_that_never_expires_gives_one_that_never_expires(app, admin_api, db):
    user = await partner(db, app)
    old = await issue(admin_api, user, name="Forever")
    rotated = (await admin_api.data(ROTATE, {"k": old.id}))["accessKeyRotate"]
    assert rotated["accessKey"]["expiresAt"] is None and rotated["accessKey"]["scopes"] is None
    assert rotated["accessKey"]["name"] == "Forever"


# --- every refusal says why, over HTTP ----------------------------------------------------


async def test_each_refused_access_key_answers_401_with_its_reason(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    other_secret = "x" * 40
    cases = {
        f"AccessKey AK{'Z' * 18}:{key.secret}": "ACCESS_KEY_INVALID",  # unknown id
        f"AccessKey {key.key_id}:{other_secret}": "ACCESS_KEY_INVALID",  # wrong secret
        f"AccessKey {key.key_id}:wrong": "ACCESS_KEY_INVALID",
        "AccessKey foo": "ACCESS_KEY_INVALID",
        f"AccessKey {key.key_id}": "ACCESS_KEY_INVALID",  # no secret
        f"AccessKey {key.key_id}:": "ACCESS_KEY_INVALID",
        f"Bearer {key.key_id}:{other_secret}": "ACCESS_KEY_INVALID",
        "Basic YWRtaW46eA==": "AUTHORIZATION_UNSUPPORTED",
    }
    for authorization, reason in cases.items():
        assert await admin_api.refused(USERS, authorization) == reason, authorization
    response = await admin_api.client.post(
        "/graphql", json={"query": USERS}, headers={"authorization": f"AccessKey {key.key_id}:wrong"}
    )
    assert response.headers["www-authenticate"].startswith("AccessKey realm=")

    await admin_api.data(DEACTIVATE, {"k": key.id})
    assert await admin_api.refused(USERS, key.header) == "ACCESS_KEY_DEACTIVATED"
    # a wrong secret learns nothing about the key, deactivated or not
    assert await admin_api.refused(USERS, f"AccessKey {key.key_id}:{other_secret}") == "ACCESS_KEY_INVALID"


async def test_a_disabled_users_still_active_key_is_refused_as_user_disabled(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    # disabling through the API deactivates the keys; a user disabled otherwise (a directory
    # sync, an operator) is still refused, for the right reason
    await db.execute(update(m.User).where(m.User.id == user.id).values(enabled=False))
    await db.commit()
    assert await admin_api.refused(USERS, key.header) == "USER_DISABLED"
    assert await admin_api.refused(USERS, f"Bearer {key.key_id}:{key.secret}") == "USER_DISABLED"


async def test_each_refused_token_answers_401_with_its_reason(app, admin_api, db):
    user = await partner(db, app)
    assert await admin_api.refused(USERS, "Bearer made-up") == "TOKEN_INVALID"
    revoked = await admin_api.login("partner", "partner-password-1")
    await admin_api.data("mutation { logout { ok } }", token=revoked)
    assert await admin_api.refused(USERS, f"Bearer {revoked}") == "TOKEN_REVOKED"
    expired = await admin_api.login("partner", "partner-password-1")
    disabled = await admin_api.login("partner", "partner-password-1")
    await db.execute(
        update(m.Session)
        .where(m.Session.user_id == user.id, m.Session.revoked_at.is_(None))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await admin_api.refused(USERS, f"Bearer {expired}") == "TOKEN_EXPIRED"
    response = await admin_api.client.post(
        "/graphql", json={"query": USERS}, headers={"authorization": f"Bearer {expired}"}
    )
    assert response.headers["www-authenticate"].startswith("Bearer realm=")
    await db.execute(
        update(m.Session).where(m.Session.user_id == user.id).values(expires_at=utcnow() + timedelta(hours=1))
    )
    await db.execute(update(m.User).where(m.User.id == user.id).values(enabled=False))
    await db.commit()
    assert await admin_api.refused(USERS, f"Bearer {disabled}") == "USER_DISABLED"


async def test_bearer_with_key_id_and_secret_works_like_the_access_key_scheme(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user, scopes=["USERS_VIEW"])
    query = "{ viewer { username } users { totalCount } }"
    as_key = await signed(admin_api, key.header, query)
    as_bearer = await signed(admin_api, f"Bearer {key.key_id}:{key.secret}", query)
    assert as_key == as_bearer == {"data": {"viewer": {"username": "partner"}, "users": {"totalCount": 2}}}
    assert forbidden(await rename(admin_api, f"Bearer {key.key_id}:{key.secret}", user, "Nope"))


# --- last use, update, activation ---------------------------------------------------------


async def test_a_signed_request_records_when_and_from_where_the_key_was_used(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    assert key.node["lastUsedAt"] is None and key.node["lastUsedFrom"] is None
    # the address is only a label in the ASGI scope: nothing leaves the process
    transport = httpx.ASGITransport(app=app, client=("127.0.0.42", 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        before = utcnow()
        assert (await signed(Api(client), key.header, USERS))["data"]["users"]["totalCount"] == 2
    [shown] = await listed(admin_api, user)
    assert shown["lastUsedFrom"] == "127.0.0.42"
    assert before - timedelta(seconds=1) <= moment(shown["lastUsedAt"]) <= utcnow()


async def test_update_changes_what_is_given_and_keeps_what_is_left_out(app, admin_api, db):
    user = await partner(db, app)
    target = await someone(db)
    expires = utcnow() + timedelta(days=30)
    key = await issue(
        admin_api,
        user,
        name="Payroll",
        description="Nightly sync",
        scopes=["USERS_VIEW", "USERS_EDIT"],
        expiresAt=expires.isoformat(),
    )

    async def change(**given: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await admin_api.data(UPDATE, {"i": {"id": key.id, **given}}))[
            "accessKeyUpdate"
        ]
        return payload

    renamed = await change(name="Payroll v2")
    assert renamed["userErrors"] == []
    assert renamed["changes"] == [{"field": ["name"], "before": "Payroll", "after": "Payroll v2"}]
    node = renamed["accessKey"]
    assert (node["name"], node["description"], node["scopes"]) == (
        "Payroll v2",
        "Nightly sync",
        ["USERS_EDIT", "USERS_VIEW"],
    )
    assert abs(moment(node["expiresAt"]) - expires) < timedelta(seconds=1)

    cleared = (await change(description=None))["accessKey"]
    assert cleared["description"] is None and cleared["name"] == "Payroll v2"

    later = utcnow() + timedelta(days=5)
    narrowed = await change(scopes=["USERS_VIEW"], expiresAt=later.isoformat())
    assert narrowed["userErrors"] == [] and narrowed["accessKey"]["scopes"] == ["USERS_VIEW"]
    assert abs(moment(narrowed["accessKey"]["expiresAt"]) - later) < timedelta(seconds=1)
    assert forbidden(await rename(admin_api, key.header, target, "Narrowed"))  # at once

    beyond = await change(scopes=["USERS_DELETE"])
    assert beyond["userErrors"] == [{"field": ["scopes"], "code": "SCOPE_NOT_HELD"}]
    past = await change(expiresAt=(utcnow() - timedelta(days=1)).isoformat())
    assert past["userErrors"] == [{"field": ["expiresAt"], "code": "INVALID"}]

    widened = (await change(scopes=None, expiresAt=None))["accessKey"]
    assert widened["scopes"] is None and widened["expiresAt"] is None
    assert (await rename(admin_api, key.header, target, "Widened"))["data"]["userUpdate"]["userErrors"] == []

    events = await audit_actions(db, "accessKey.update")
    assert len(events) == 4  # the refused ones wrote nothing
    assert events[0].changes == {"name": {"before": "Payroll", "after": "Payroll v2"}}
    assert events[1].changes == {"description": {"before": "Nightly sync", "after": None}}
    assert set(events[2].changes) == {"scopes", "expiresAt"}
    assert events[0].actor_username == "admin"
    shown = await admin_api.data(
        "{ auditEvents(first: 100) { nodes { action targetType targetId targetLabel fieldChanges { field } } } }"
    )
    updates = [e for e in shown["auditEvents"]["nodes"] if e["action"] == "ACCESS_KEY_UPDATE"]
    assert len(updates) == 4
    assert {(e["targetType"], e["targetId"], e["targetLabel"]) for e in updates} == {
        ("ACCESS_KEY", key.id, key.key_id)
    }


async def test_a_deactivated_key_can_be_activated_again_within_the_limit(app, admin_api, db):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    await admin_api.data(DEACTIVATE, {"k": key.id})
    assert await admin_api.refused(USERS, key.header) == "ACCESS_KEY_DEACTIVATED"
    back = (await admin_api.data(ACTIVATE, {"k": key.id}))["accessKeyActivate"]
    assert back["userErrors"] == [] and back["accessKey"]["active"] is True
    assert (await signed(admin_api, key.header, USERS))["data"]["users"]["totalCount"] == 2
    [event] = await audit_actions(db, "accessKey.activate")
    assert event.changes["active"] == {"before": False, "after": True}
    assert event.changes["accessKeyId"]["after"] == key.key_id

    await admin_api.data(DEACTIVATE, {"k": key.id})
    await issue(admin_api, user)
    await issue(admin_api, user)
    full = (await admin_api.data(ACTIVATE, {"k": key.id}))["accessKeyActivate"]
    assert full["accessKey"] is None and full["userErrors"] == [{"field": ["id"], "code": "LIMIT_REACHED"}]
    assert await admin_api.refused(USERS, key.header) == "ACCESS_KEY_DEACTIVATED"


async def test_a_request_signed_with_a_key_authenticates_in_one_statement(app, admin_api, db, sql_counter):
    user = await partner(db, app)
    key = await issue(admin_api, user)
    await signed(admin_api, key.header, "{ __typename }")  # the first use writes lastUsedAt
    with sql_counter:
        assert (await signed(admin_api, key.header, "{ __typename }"))["data"] == {"__typename": "Query"}
    [statement] = sql_counter.statements
    assert statement.lstrip().upper().startswith("SELECT")
    token = await admin_api.login("admin", ADMIN_PASSWORD)
    await signed(admin_api, f"Bearer {token}", "{ __typename }")
    with sql_counter:
        await signed(admin_api, f"Bearer {token}", "{ __typename }")
    assert len(sql_counter.statements) == 1
