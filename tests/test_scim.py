"""SCIM 2.0 at /scim/v2 over real HTTP: the second face of the users' and teams' use cases, with
the same checks, authority rule and audit trail as GraphQL; and the provisioning sequences
Microsoft Entra ID and Okta document, replayed with their own request bodies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ccgraph.db import models as m
from ccgraph.enums import Permission as P
from tests import factories as f
from tests.conftest import BACKENDS

# SCIM runs no GraphQL: the reference executor would run the same requests again for nothing.
pytestmark = pytest.mark.parametrize(
    "settings", [b for b in BACKENDS if b != "sqlite-reference"], indirect=True
)

SCIM_JSON = "application/scim+json"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CCGRAPH = "urn:ietf:params:scim:schemas:extension:ccgraph:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PROVISIONING = [P.USERS_VIEW, P.USERS_CREATE, P.USERS_EDIT, P.USERS_DELETE, P.TEAMS_VIEW, P.TEAMS_EDIT]
KEY = """mutation($u: ID!) { accessKeyCreate(input: {userId: $u}) {
  accessKey { accessKeyId } secret userErrors { code } } }"""


class Scim:
    """A SCIM client over HTTP to the ASGI app, with one access key."""

    def __init__(self, client: Any, authorization: str | None) -> None:
        self.client = client
        self.headers = {"authorization": authorization} if authorization else {}

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = await self.client.request(
            method,
            f"/scim/v2{path}",
            json=body,
            headers={**self.headers, "content-type": SCIM_JSON, **headers},
        )
        if response.content:
            assert response.headers["content-type"].startswith(SCIM_JSON), response.text
        return response

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200, **headers: str) -> Any:
        response = await self.call(method, path, body, **headers)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def error(self, method: str, path: str, body: Any = None, status: int = 400, **headers: str) -> Any:
        response = await self.call(method, path, body, **headers)
        assert response.status_code == status, response.text
        error = response.json()
        assert error["schemas"] == [ERROR] and error["status"] == str(status), error
        return error


async def key_for(admin_api: Any, user: m.User) -> str:
    """An access key of `user`, made through GraphQL's accessKeyCreate."""
    made = (await admin_api.data(KEY, {"u": f.gid("User", user.id)}))["accessKeyCreate"]
    assert made["userErrors"] == [], made
    return f"AccessKey {made['accessKey']['accessKeyId']}:{made['secret']}"


async def provisioner(
    db: Any, admin_api: Any, permissions: list[P] = PROVISIONING, unit: m.BusinessUnit | None = None
) -> Scim:
    """The identity provider's connection: a key of a service user holding `permissions`."""
    unit = unit or await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, permissions)
    service = await f.user(db, unit, f"scim-{unit.id}-{len(permissions)}-{profile.id}", profiles=[profile])
    await db.commit()
    return Scim(admin_api.client, await key_for(admin_api, service))


async def agent_profile(db: Any, unit_id: int = 1, **kw: Any) -> m.SecurityProfile:
    """The unit's "Agent" security profile: what SCIM gives a new user by default."""
    unit = await db.get(m.BusinessUnit, unit_id)
    profile = await f.security_profile(db, unit, [], name="Agent", **kw)
    await db.commit()
    return profile


def new_user(name: str = "jdoe", **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [CORE],
        "userName": name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        **extra,
    }


async def audit_actions(db: Any, user_id: int | None = None) -> list[str]:
    stmt = select(m.AuditEvent.action).order_by(m.AuditEvent.id)
    if user_id is not None:
        stmt = stmt.where(m.AuditEvent.target_id == user_id)
    db.expire_all()
    return list((await db.scalars(stmt)).all())


async def test_create_get_and_the_user_as_graphql_sees_them(db, admin_api):
    await agent_profile(db)
    scim = await provisioner(db, admin_api)
    created = await scim.ok(
        "POST",
        "/Users",
        new_user(
            "JDoe",
            title="Agent",
            phoneNumbers=[
                {"value": "+44 20 7946 0000", "type": "work"},
                {"value": "+44 7700 900000", "type": "mobile"},
                {"value": "555-0100", "type": "fax"},
            ],
            addresses=[
                {"type": "work", "streetAddress": "1 Main St\nFloor 2", "locality": "London", "country": "gb"}
            ],
        ),
        status=201,
    )
    uid = created["id"]
    assert created["userName"] == "jdoe"
    assert created["name"] == {"givenName": "Jane", "familyName": "Doe", "formatted": "Jane Doe"}
    assert created["active"] is True
    assert created["meta"]["resourceType"] == "User" and created["meta"]["version"] == 'W/"1"'
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{uid}")
    assert created["phoneNumbers"] == [
        {"value": "+44 20 7946 0000", "type": "work", "primary": True},
        {"value": "+44 7700 900000", "type": "mobile", "primary": False},
    ]
    assert created["addresses"] == [
        {
            "streetAddress": "1 Main St\nFloor 2",
            "locality": "London",
            "country": "GB",
            "type": "work",
            "primary": True,
        }
    ]
    assert created[CCGRAPH] == {"securityProfiles": ["Agent"]}
    assert "password" not in created

    got = await scim.ok("GET", f"/Users/{uid}")
    assert got == created
    # the SCIM id is GraphQL's global ID: one identity for both faces
    data = await admin_api.data(
        "query($id: ID!) { user(id: $id) { username organization { jobTitle } contact { mainPhone mobilePhone } "
        "address { street1 street2 city country } securityProfiles { name } } }",
        {"id": uid},
    )
    assert data["user"] == {
        "username": "jdoe",
        "organization": {"jobTitle": "Agent"},
        "contact": {"mainPhone": "+44 20 7946 0000", "mobilePhone": "+44 7700 900000"},
        "address": {"street1": "1 Main St", "street2": "Floor 2", "city": "London", "country": "GB"},
        "securityProfiles": [{"name": "Agent"}],
    }
    assert await audit_actions(db) == ["accessKey.create", "user.create"]
