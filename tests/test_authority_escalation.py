"""No escalation, generated from the schema: for every mutation whose input names a user (by
ID, in a list, in a bulk row or in an uploaded file), a security profile, an access key, a
session or permissions to grant, an actor holding the mutation's permissions but fewer than
the target (or than what would be granted) is refused with an authority code, the same with
`validateOnly`, and nothing is written: rows, audit events, sessions, keys and outbox are
unchanged. The same input naming a target the actor does not outrank is not refused that
way, so every case reaches the rule.

Two actors try each mutation: the narrow one holds exactly the mutation's permissions; the
broad one holds every permission but AUDIT_VIEW, which no mutation needs and the target
holds."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    build_schema,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Undefined
from sqlalchemy import select

from ccgraph.auth import access_keys
from ccgraph.auth.tokens import new_token, token_hash
from ccgraph.db import models as m
from ccgraph.db.base import Base, utcnow
from ccgraph.enums import Permission
from ccgraph.services import authority
from ccgraph.services.bulk.columns import headers
from tests import factories as f

SDL = build_schema((Path(__file__).parent.parent / "schema.graphql").read_text())
OBJECT_TYPES = sorted((n for n, t in SDL.type_map.items() if is_object_type(t)), key=len, reverse=True)
# Field names whose stem is not the name of the type they refer to.
ALIASES = {"manager": "User", "defaultPresence": "PresenceStatus"}
ACTED_ON = {"User", "SecurityProfile", "AccessKey", "Session"}  # naming one of these is acting on it
AUTHORITY_CODES = {
    authority.TARGET_OUTRANKS_ACTOR,
    authority.PERMISSION_NOT_HELD,
    authority.PERMISSION_REQUIRED,
    authority.MASTER_ADMINISTRATOR_PROTECTED,
    authority.ADMINISTRATOR_PROFILE_PROTECTED,
    "FORBIDDEN",
}
SPARED = Permission.AUDIT_VIEW  # what the broad actor lacks
PASSWORD = "Escalate-password-1!"
# A copy gives the source's skills: beyond the mutation's own permission that needs SKILLS_EDIT
# (the row rule, as for userCreate with skills), and the benign source holds a skill.
GIVES_SOURCE_SKILLS = {"userCopy"}
SKILLS_RULE = {authority.PERMISSION_REQUIRED}
VOLATILE = {"sessions": {"last_seen_at"}, "access_keys": {"last_used_at"}}
VERSIONED = [mapper.class_ for mapper in Base.registry.mappers if mapper.version_id_col is not None]


def _upper(name: str) -> str:
    return name[:1].upper() + name[1:]


def subject(mutation: str) -> str:
    """The type a mutation is about, from its name: `userProfileDelete` -> UserProfile."""
    return next(t for t in OBJECT_TYPES if mutation.startswith(t[:1].lower() + t[1:]))


def kind_of(mutation: str, field: str) -> str:
    """The type an ID field names: `id` the mutation's subject, `sourceUserId` a User..."""
    if field in ("id", "ids"):
        return subject(mutation)
    stem = ALIASES.get(re.sub(r"Ids?$", "", field), _upper(re.sub(r"Ids?$", "", field)))
    found = [t for t in OBJECT_TYPES if stem.endswith(t)]
    assert found, f"{mutation}: which type does {field!r} name? (add it to ALIASES)"
    return found[0]


@dataclass(frozen=True)
class Vector:
    """A place in a mutation's input that names what the actor must outrank or hold."""

    path: tuple[str, ...]
    what: str  # a type name, "Permission" or "Upload:<target>"


def _walk(mutation: str, type_: GraphQLInputObjectType, path: tuple[str, ...], seen: frozenset[str]):
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        inner = field.type.of_type if is_non_null_type(field.type) else field.type
        here = (*path, name, "0") if is_list_type(inner) else (*path, name)
        if is_input_object_type(named) and named.name not in seen:
            yield from _walk(mutation, named, here, seen | {named.name})
        elif named.name == "ID" and kind_of(mutation, name) in ACTED_ON:
            yield Vector(here, kind_of(mutation, name))
        elif named.name == "Permission":
            yield Vector(here, "Permission")
        elif named.name == "Upload":
            yield Vector(here, "Upload:User")
            yield Vector(here, "Upload:SecurityProfile")


def mutations() -> list[tuple[str, list[str], list[Vector]]]:
    found = []
    for name, field in SDL.mutation_type.fields.items():
        if "input" not in field.args:
            continue
        permissions = [
            v.value
            for d in field.ast_node.directives or []
            if d.name.value == "requiresPermission"
            for a in d.arguments
            if a.name.value == "permissions"
            for v in a.value.values
        ]
        vectors = list(_walk(name, get_named_type(field.args["input"].type), (), frozenset()))
        if vectors:
            found.append((name, permissions, vectors))
    return found


MUTATIONS = mutations()


def test_the_generator_finds_every_way_to_name_a_user_or_a_grant():
    """A new mutation or field is picked up by name; these are the ones known today."""
    names = {name for name, _, _ in MUTATIONS}
    assert {"accessKeyCreate", "userPasswordReset", "userUpdate", "usersImport", "userCopy"} <= names
    assert {"securityProfileUpdate", "securityProfileDelete", "skillUsersAdd", "sessionRevoke"} <= names
    vectors = {(n, v.path) for n, _, vs in MUTATIONS for v in vs}
    assert ("usersUpdate", ("users", "0", "id")) in vectors
    assert ("userCreate", ("managerId",)) in vectors
    assert ("userCopy", ("sourceUserId",)) in vectors
    assert all(SPARED.value not in permissions for _, permissions, _ in MUTATIONS)


# -- the organisation ---------------------------------------------------------------------------


@dataclass
class Organisation:
    ids: dict[tuple[str, bool], str]  # (type, privileged) -> global ID
    users: dict[bool, m.User]
    files: dict[tuple[str, bool], bytes]
    attacker: m.User
    attacker_profile: m.SecurityProfile
    versions: dict[str, int] | None = None  # global ID -> version, read before each call


_seq = itertools.count(1)
PUBLIC_ADDRESS = "93.184.216.34"  # a webhook's receiver: public, and named without a DNS lookup


async def organisation(app: Any, db: Any) -> Organisation:
    unit = await db.get(m.BusinessUnit, 1)
    administrator = (
        await db.execute(select(m.SecurityProfile).where(m.SecurityProfile.is_administrator))
    ).scalar_one()
    nothing = await f.security_profile(db, unit, [], name="Nothing")
    attacker_profile = await f.security_profile(db, unit, [], name="Attacker")
    hashed = await app.state.passwords.hash(PASSWORD)
    boss = await f.user(db, unit, "boss", profiles=[administrator])
    low = await f.user(db, unit, "low", profiles=[nothing])
    attacker = await f.user(db, unit, "attacker", profiles=[attacker_profile])
    for user in (boss, low, attacker):
        user.password_hash = hashed
    skill = await f.named(db, m.Skill, unit, "Escalation")
    ids: dict[tuple[str, bool], str] = {}
    for user, privileged in ((boss, True), (low, False)):
        db.add(m.UserSkill(user_id=user.id, skill_id=skill.id, proficiency=5, created_at=utcnow()))
        session = m.Session(
            user_id=user.id,
            token_hash=token_hash(new_token()),
            created_at=utcnow(),
            last_seen_at=utcnow(),
            expires_at=utcnow().replace(year=2100),
        )
        key = m.AccessKey(
            user_id=user.id, key_id=access_keys.new_key_id(), secret_hash=access_keys.secret_hash("s")
        )
        db.add_all([session, key])
        await db.flush()
        ids |= {
            ("User", privileged): f.gid("User", user.id),
            ("Session", privileged): f.gid("Session", session.id),
            ("AccessKey", privileged): f.gid("AccessKey", key.id),
        }
    ids |= {("SecurityProfile", True): f.gid("SecurityProfile", administrator.id)}
    ids |= {("SecurityProfile", False): f.gid("SecurityProfile", nothing.id)}
    for model in (m.Team, m.Queue, m.WorkStream, m.UserProfile, m.PresenceStatus):
        extra = {"channel": "CHAT"} if model is m.WorkStream else {}
        extra |= {"base_status": "AVAILABLE"} if model is m.PresenceStatus else {}
        row = await f.named(db, model, unit, f"Escalation {model.__name__}", **extra)
        ids[(model.__name__, False)] = f.gid(model.__name__, row.id)
    ids[("Skill", False)] = f.gid("Skill", skill.id)
    for user, privileged in ((boss, True), (low, False)):  # a partner's webhook of each
        hook = m.Webhook(
            business_unit_id=unit.id,
            owner_user_id=user.id,
            url=f"https://{PUBLIC_ADDRESS}/hooks/{user.username}",
            event_types=["user.created"],
            secret_sealed="sealed",
        )
        db.add(hook)
        await db.flush()
        ids[("Webhook", privileged)] = f.gid("Webhook", hook.id)
    ids[("BusinessUnit", False)] = f.gid("BusinessUnit", unit.id)
    columns = headers(unit)

    def file(rows: list[dict[str, str]]) -> bytes:
        """A CSV with the template's columns that the rows fill (a missing column is kept)."""
        given = [c for c in columns if any(c in row for row in rows)]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(given)
        writer.writerows([[row.get(c, "") for c in given] for row in rows])
        return out.getvalue().encode()

    def newcomer(profile: str) -> dict[str, str]:
        n = next(_seq)
        return {
            "username": f"filed{n}",
            "firstName": "Filed",
            "lastName": "User",
            "email": f"filed{n}@example.com",
            "securityProfiles": profile,
        }

    files = {
        ("Upload:User", True): file([{"username": "boss", "email": "taken-over@example.com"}]),
        ("Upload:User", False): file([{"username": "low", "email": "renamed@example.com"}]),
        ("Upload:SecurityProfile", True): file([newcomer("Administrator")]),
        ("Upload:SecurityProfile", False): file([newcomer("Nothing")]),
    }
    await db.commit()
    return Organisation(ids, {True: boss, False: low}, files, attacker, attacker_profile)


# -- inputs -------------------------------------------------------------------------------------


def scalar(name: str, type_name: str, org: Organisation, mutation: str) -> Any:
    n = next(_seq)
    if type_name == "ID":
        return org.ids[(kind_of(mutation, name), False)]
    if type_name == "String":
        if "password" in name.lower():
            return PASSWORD
        return {
            "username": f"esc{n}",
            "email": f"esc{n}@example.com",
            "code": "123456",
            "url": f"https://{PUBLIC_ADDRESS}/hooks/esc{n}",
        }.get(name, f"Esc {n}")
    if type_name == "Int":
        return 5
    if type_name == "Boolean":
        return name == "atomic"
    enum = SDL.type_map[type_name]
    assert is_enum_type(enum), type_name
    values = list(enum.values)
    return "UPSERT" if "UPSERT" in values else "CSV" if "CSV" in values else values[0]


def build(
    mutation: str,
    type_: GraphQLInputObjectType,
    org: Organisation,
    vector: Vector,
    privileged: bool,
    validate_only: bool,
    path: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[str]]:
    """The input: required fields with plain values, the vector's field naming the privileged
    (or the benign) target. Returns it and the variable paths of uploaded files."""
    value: dict[str, Any] = {}
    uploads: list[str] = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        inner = field.type.of_type if is_non_null_type(field.type) else field.type
        listed = is_list_type(inner)
        here = (*path, name, "0") if listed else (*path, name)
        on_vector = vector.path[: len(here)] == here
        if name == "validateOnly":
            value[name] = validate_only
        elif on_vector and is_input_object_type(named):
            built, files = build(mutation, named, org, vector, privileged, validate_only, here)
            value[name] = [built] if listed else built
            uploads += [f"{name}.{'0.' if listed else ''}{u}" for u in files]
        elif on_vector and named.name == "Permission":
            held = list(Permission) if privileged else []
            value[name] = [p.value for p in held]
        elif on_vector and named.name == "Upload":
            value[name] = None
            uploads.append(name)
        elif on_vector:
            target = org.ids[(vector.what, privileged)]
            value[name] = [target] if listed else target
        elif is_non_null_type(field.type) and field.default_value is Undefined:
            if is_input_object_type(named):
                built, files = build(mutation, named, org, vector, privileged, validate_only, here)
                value[name] = [built] if listed else built
                uploads += files
            else:
                one = scalar(name, named.name, org, mutation)
                value[name] = [one] if listed else one
    if "version" in value:  # the current version of the object the input changes
        changed = next(
            value[n]
            for n in value
            if get_named_type(type_.fields[n].type).name == "ID" and kind_of(mutation, n) == subject(mutation)
        )
        value["version"] = org.versions[changed]
    return value, uploads


def selection(type_: Any, depth: int = 0) -> str:
    """Every field of a payload the actor may read: leaves, and objects of unguarded types."""
    parts = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        if is_object_type(named):
            guarded = any(d.name.value == "requiresPermission" for d in named.ast_node.directives or [])
            if not guarded and "edges" not in named.fields and depth < 2:
                parts.append(f"{name} {{ {selection(named, depth + 1)} }}")
        elif not field.args:
            parts.append(name)
    return " ".join(parts)


def codes(body: dict[str, Any]) -> list[str]:
    found = [e.get("extensions", {}).get("code", "NO_CODE") for e in body.get("errors", [])]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("code"), str):
                found.append(value["code"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body.get("data"))
    return sorted(c for c in found if c)


async def send(
    api: Any,
    db: Any,
    org: Organisation,
    mutation: str,
    vector: Vector,
    privileged: bool,
    dry: bool,
    adjust: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer to the mutation (every readable field of its payload), and its input
    (`adjust`, when given, completes it in place)."""
    field = SDL.mutation_type.fields[mutation]
    input_type = get_named_type(field.args["input"].type)
    org.versions = {}
    for model in VERSIONED:
        rows = await db.execute(select(model.id, model.version))
        org.versions |= {f.gid(model.__name__, pk): version for pk, version in rows.all()}
    await db.rollback()
    value, uploads = build(mutation, input_type, org, vector, privileged, dry)
    if adjust is not None:
        adjust(value)
    query = (
        f"mutation($input: {input_type.name}!) {{ {mutation}(input: $input) "
        f"{{ {selection(get_named_type(field.type))} }} }}"
    )
    auth = {"authorization": f"Bearer {api.token}"}
    if uploads:
        operations = {"query": query, "variables": {"input": value}}
        mapping = {str(i): [f"variables.input.{u}"] for i, u in enumerate(uploads)}
        content = org.files[(vector.what, privileged)]
        files = {str(i): ("users.csv", content, "text/csv") for i in range(len(uploads))}
        form = {"operations": json.dumps(operations), "map": json.dumps(mapping)}
        response = await api.client.post("/graphql", data=form, files=files, headers=auth)
    else:
        body = {"query": query, "variables": {"input": value}}
        response = await api.client.post("/graphql", json=body, headers=auth)
    return response.json(), value


async def call(
    api: Any, db: Any, org: Organisation, mutation: str, vector: Vector, privileged: bool, dry: bool
) -> tuple[list[str], bool]:
    """The codes the mutation answers with, and whether its input has `validateOnly`."""
    body, value = await send(api, db, org, mutation, vector, privileged, dry)
    found = codes(body)
    assert not {"INTERNAL_SERVER_ERROR", "NO_CODE"} & set(found), body
    return found, "validateOnly" in value


async def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bar last-seen stamps)."""
    db.expire_all()
    state = {}
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
        rows = (await db.execute(select(*columns))).all()
        state[table.name] = sorted(map(tuple, rows), key=repr)
    await db.rollback()
    return state


@pytest.mark.parametrize(("mutation", "permissions", "vectors"), MUTATIONS, ids=[n for n, _, _ in MUTATIONS])
async def test_an_actor_who_is_outranked_is_refused_and_nothing_is_written(
    app, api, admin, db, mutation, permissions, vectors
):
    org = await organisation(app, db)
    api.token = await api.login("attacker", PASSWORD)
    narrow = [Permission(p) for p in permissions]
    broad = [p for p in Permission if p is not SPARED]
    for held in (narrow, broad):
        org.attacker_profile.permissions = [p.value for p in held]
        db.add(org.attacker_profile)
        await db.commit()
        for vector in vectors:
            case = (mutation, vector.path, [p.value for p in held])
            before = await snapshot(db)
            refused, dry_runs = await call(api, db, org, mutation, vector, privileged=True, dry=False)
            assert await snapshot(db) == before, case
            expected = AUTHORITY_CODES if held is broad else AUTHORITY_CODES | {"NOT_FOUND"}
            assert set(refused) & expected, (*case, refused)
            if dry_runs:
                dry, _ = await call(api, db, org, mutation, vector, privileged=True, dry=True)
                assert dry == refused, (*case, "validateOnly answers otherwise", dry)
                assert await snapshot(db) == before, case
            allowed, _ = await call(api, db, org, mutation, vector, privileged=False, dry=True)
            tolerated = (
                SKILLS_RULE
                if mutation in GIVES_SOURCE_SKILLS and Permission.SKILLS_EDIT not in held
                else set()
            )
            assert not set(allowed) & (AUTHORITY_CODES - tolerated), (*case, allowed)
