"""Idempotent retries: a mutation sent again with the same `Idempotency-Key` gets the first
answer back and writes nothing more; the key is the caller's, holds 24 hours, and a failure on
our side gives it back."""

import asyncio
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from tests import factories as f
from tests.test_bulk import person

KEY = """mutation($u: ID!) { accessKeyCreate(input: {userId: $u}) {
  accessKey { id accessKeyId } secret userErrors { code } } }"""
USERS_CREATE = """mutation($i: UsersCreateInput!) { usersCreate(input: $i) {
  results { row user { id username } userErrors { code } } userErrors { code } } }"""
SKILLS_ADD = """mutation($i: UserSkillsAddInput!) { userSkillsAdd(input: $i) {
  user { skills(first: 10) { edges { proficiency node { name } } } } userErrors { code } } }"""


async def send(api, query, variables=None, key=None, *, auth=None, **headers):
    if key is not None:
        headers["idempotency-key"] = key
    auth = auth if auth is not None else f"Bearer {api.token}"
    if auth:
        headers["authorization"] = auth
    return await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


async def count(db, model) -> int:
    value = (await db.execute(select(func.count()).select_from(model))).scalar_one()
    await db.commit()  # end the read: the next one sees what the API wrote since
    return value


async def user_id(db, username: str = "admin") -> str:
    found = (await db.execute(select(m.User.id).where(m.User.username == username))).scalar_one()
    await db.commit()
    return f.gid("User", found)


def replayed(response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


async def test_a_retried_access_key_create_returns_the_same_key_and_secret_and_makes_one(admin_api, db):
    uid = await user_id(db)
    first = await send(admin_api, KEY, {"u": uid}, "create-key-1")
    again = await send(admin_api, KEY, {"u": uid}, "create-key-1")
    assert first.status_code == again.status_code == 200
    created = first.json()["data"]["accessKeyCreate"]
    assert created["secret"] and created["userErrors"] == []
    assert again.content == first.content  # byte for byte: the same key id, the same secret
    assert replayed(again) and not replayed(first)
    assert await count(db, m.AccessKey) == 1
    audit = select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.action == "accessKey.create")
    assert (await db.execute(audit)).scalar_one() == 1
    # The secret is kept for the replay only sealed, never as it was shown.
    kept = (await db.execute(select(m.IdempotencyKey.body))).scalar_one()
    assert created["secret"] not in kept


async def test_a_retried_users_create_writes_once(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [Permission.USERS_VIEW], name="Agent")
    await db.commit()
    people = [person(i, profile) for i in range(3)]
    before = await count(db, m.User)
    first = await send(admin_api, USERS_CREATE, {"i": {"users": people, "atomic": False}}, "bulk-1")
    again = await send(admin_api, USERS_CREATE, {"i": {"users": people, "atomic": False}}, "bulk-1")
    results = first.json()["data"]["usersCreate"]["results"]
    assert [r["user"]["username"] for r in results] == ["bulk0", "bulk1", "bulk2"]
    assert again.content == first.content and replayed(again)
    assert await count(db, m.User) == before + 3
    # Without the key, the retry is the second request it looks like.
    plain = (await send(admin_api, USERS_CREATE, {"i": {"users": people, "atomic": False}})).json()
    assert {e["code"] for r in plain["data"]["usersCreate"]["results"] for e in r["userErrors"]} == {"TAKEN"}


async def test_a_retried_user_skills_add_writes_once_without_already_assigned(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    skill = await f.named(db, m.Skill, unit, "English")
    agent = await f.user(db, unit, "agent")
    await db.commit()
    given = {
        "i": {
            "userId": f.gid("User", agent.id),
            "skills": [{"skillId": f.gid("Skill", skill.id), "proficiency": 3}],
        }
    }
    first = await send(admin_api, SKILLS_ADD, given, "skills-1")
    again = await send(admin_api, SKILLS_ADD, given, "skills-1")
    assert first.json()["data"]["userSkillsAdd"] == {
        "user": {"skills": {"edges": [{"proficiency": 3, "node": {"name": "English"}}]}},
        "userErrors": [],
    }
    assert again.content == first.content and replayed(again)
    assert await count(db, m.UserSkill) == 1
    # Without the key, the retry is the second request it looks like.
    plain = await send(admin_api, SKILLS_ADD, given)
    assert plain.json()["data"]["userSkillsAdd"]["userErrors"] == [{"code": "ALREADY_ASSIGNED"}]


async def test_the_same_key_with_another_request_is_refused_and_writes_nothing(admin_api, db):
    uid = await user_id(db)
    agent = await f.user(db, await db.get(m.BusinessUnit, 1), "agent")
    await db.commit()
    await send(admin_api, KEY, {"u": uid}, "k")
    for other in (
        {"query": KEY, "variables": {"u": f.gid("User", agent.id)}},  # other variables
        {
            "query": KEY.replace("accessKeyId", "accessKeyId active"),
            "variables": {"u": uid},
        },  # other document
    ):
        refused = await admin_api.client.post(
            "/graphql",
            json=other,
            headers={"authorization": f"Bearer {admin_api.token}", "idempotency-key": "k"},
        )
        assert refused.status_code == 422
        error = refused.json()["errors"][0]
        assert (
            error["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED" and "another request" in error["message"]
        )
    assert await count(db, m.AccessKey) == 1


async def test_the_same_request_written_otherwise_is_the_same_request(admin_api, db):
    """The fingerprint is of what the request means: key order and spacing of the JSON body do
    not make it another request."""
    uid = await user_id(db)
    headers = {
        "authorization": f"Bearer {admin_api.token}",
        "idempotency-key": "k",
        "content-type": "application/json",
    }
    first = await admin_api.client.post(
        "/graphql", content=json.dumps({"query": KEY, "variables": {"u": uid}}), headers=headers
    )
    again = await admin_api.client.post(
        "/graphql", content=json.dumps({"variables": {"u": uid}, "query": KEY}, indent=2), headers=headers
    )
    assert again.content == first.content and replayed(again)
    assert await count(db, m.AccessKey) == 1


async def test_keys_are_each_callers_own(app, admin_api, db):
    """The admin signed in, the admin through an access key, and another user may all use the
    same key value: each is a caller of their own."""
    uid = await user_id(db)
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [Permission.ACCESS_KEY_CREATE, Permission.USERS_VIEW])
    await f.user(
        db, unit, "agent", password="agent-password-1", passwords=app.state.passwords, profiles=[profile]
    )
    await db.commit()
    first = (await send(admin_api, KEY, {"u": uid}, "shared")).json()["data"]["accessKeyCreate"]
    via_key = f"AccessKey {first['accessKey']['accessKeyId']}:{first['secret']}"
    second = await send(admin_api, KEY, {"u": uid}, "shared", auth=via_key)
    assert not replayed(second) and second.json()["data"]["accessKeyCreate"]["userErrors"] == []
    agent_token = await admin_api.login("agent", "agent-password-1")
    agent_id = await user_id(db, "agent")
    third = await send(admin_api, KEY, {"u": agent_id}, "shared", auth=f"Bearer {agent_token}")
    assert not replayed(third) and third.json()["data"]["accessKeyCreate"]["userErrors"] == []
    assert await count(db, m.AccessKey) == 3
    assert await count(db, m.IdempotencyKey) == 3


async def test_queries_and_callers_not_signed_in_ignore_the_key(admin_api, db):
    for _ in range(2):
        read = await send(admin_api, "{ viewer { username } }", key="read-1")
        assert read.json() == {"data": {"viewer": {"username": "admin"}}} and not replayed(read)
    sign_in = 'mutation { login(input: {username: "admin", password: "admin-password-123"}) { token } }'
    tokens = [
        (await send(admin_api, sign_in, key="login-1", auth="")).json()["data"]["login"]["token"]
        for _ in range(2)
    ]
    assert tokens[0] != tokens[1]  # two sign-ins: no one to keep the key for, so none is kept
    assert await count(db, m.IdempotencyKey) == 0


@pytest.mark.parametrize("key", [b"", b"   ", b"x" * 256, b"tab\there", b"cl\xe9"])
async def test_a_malformed_key_is_refused_before_anything_runs(admin_api, db, key):
    refused = await send(admin_api, KEY, {"u": await user_id(db)}, key)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert await count(db, m.AccessKey) == 0


async def test_the_drafts_quoted_form_is_the_same_key(admin_api, db):
    uid = await user_id(db)
    first = await send(admin_api, KEY, {"u": uid}, "abc")
    again = await send(admin_api, KEY, {"u": uid}, '"abc"')
    assert again.content == first.content and replayed(again)


async def test_an_expired_key_runs_again_and_is_purged(admin_api, db):
    uid = await user_id(db)
    first = await send(admin_api, KEY, {"u": uid}, "old")
    await db.execute(update(m.IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, seconds=1)))
    await db.commit()
    again = await send(admin_api, KEY, {"u": uid}, "old")
    assert not replayed(again)
    assert (
        again.json()["data"]["accessKeyCreate"]["secret"] != first.json()["data"]["accessKeyCreate"]["secret"]
    )
    assert await count(db, m.AccessKey) == 2
    assert await count(db, m.IdempotencyKey) == 1  # the expired row went; the new one stays


async def test_a_key_in_use_is_refused_until_its_lease_runs_out(admin_api, db):
    """A first request still running holds the key (409); one whose worker died (no answer
    after ten minutes) lets a retry run."""
    uid = await user_id(db)
    await send(admin_api, KEY, {"u": uid}, "running")
    await db.execute(
        update(m.IdempotencyKey).values(completed_at=None, status=None, body=None)
    )  # as if running
    await db.commit()
    busy = await send(admin_api, KEY, {"u": uid}, "running")
    assert busy.status_code == 409
    assert busy.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    await db.execute(update(m.IdempotencyKey).values(created_at=utcnow() - timedelta(minutes=11)))
    await db.commit()
    taken_over = await send(admin_api, KEY, {"u": uid}, "running")
    assert taken_over.status_code == 200 and not replayed(taken_over)
    assert await count(db, m.AccessKey) == 2


async def test_a_failure_on_our_side_gives_the_key_back(admin_api, db):
    """The audit trail's table is away (every mutation writes to it): the first attempt fails
    on our side and writes nothing; once it is back, the retry with the same key runs."""
    uid = await user_id(db)
    await db.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    await db.commit()
    failed = await send(admin_api, KEY, {"u": uid}, "flaky")
    await db.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    await db.commit()
    code = failed.json()["errors"][0]["extensions"]["code"]
    assert failed.status_code == 503 or code == "INTERNAL_SERVER_ERROR", failed.text  # PostgreSQL masks it
    assert await count(db, m.IdempotencyKey) == 0
    retried = await send(admin_api, KEY, {"u": uid}, "flaky")
    assert retried.status_code == 200 and not replayed(retried)
    assert retried.json()["data"]["accessKeyCreate"]["userErrors"] == []
    assert await count(db, m.AccessKey) == 1


async def test_requests_with_the_same_key_at_once_write_once(admin_api, db):
    uid = await user_id(db)
    answers = await asyncio.gather(*(send(admin_api, KEY, {"u": uid}, "race") for _ in range(4)))
    ran = [a for a in answers if a.status_code == 200 and not replayed(a)]
    assert len(ran) == 1
    assert all(
        a.status_code == 409 or (replayed(a) and a.content == ran[0].content)
        for a in answers
        if a is not ran[0]
    )
    assert await count(db, m.AccessKey) == 1


def csv_file(names: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["username", "firstName", "lastName", "email", "securityProfiles"]]
        + [[n, "Up", n, f"{n}@example.com", "Agent"] for n in names]
    )
    return buffer.getvalue().encode()


async def upload(api, content: bytes, key: str):
    operations = {
        "query": "mutation($file: Upload!) { usersImport(input: {file: $file, format: CSV, mode: CREATE}) "
        "{ created results { row action errors { column code } } userErrors { code } } }",
        "variables": {"file": None},
    }
    return await api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", content, "text/csv")},
        headers={"authorization": f"Bearer {api.token}", "idempotency-key": key},
    )


async def test_a_retried_upload_is_known_by_its_file_not_its_boundary(admin_api, db):
    await f.security_profile(db, await db.get(m.BusinessUnit, 1), [Permission.USERS_VIEW], name="Agent")
    await db.commit()
    before = await count(db, m.User)
    first = await upload(admin_api, csv_file(["up1", "up2"]), "import-1")
    again = await upload(admin_api, csv_file(["up1", "up2"]), "import-1")  # another random boundary
    assert first.json()["data"]["usersImport"]["created"] == 2
    assert again.content == first.content and replayed(again)
    other = await upload(admin_api, csv_file(["up1", "up3"]), "import-1")
    assert other.status_code == 422
    assert await count(db, m.User) == before + 2
