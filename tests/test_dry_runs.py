"""Dry runs never write, generated from the schema: every mutation whose input takes
`validateOnly` is called with a valid input and `validateOnly: true`, and every table (users,
links, audit events, sessions, access keys, the mail outbox, login attempts...) is unchanged;
the answer has the shape of the real call's, and the real call that follows does write, so each
case proves its input valid and could fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from graphql import get_named_type
from sqlalchemy import select, update

from ccgraph.db import models as m
from ccgraph.db.engine import DRY_RUN, DryRunCommit
from tests import factories as f
from tests.test_authority_escalation import (
    MUTATIONS,
    PASSWORD,
    SDL,
    Organisation,
    Vector,
    organisation,
    send,
    snapshot,
)

NOWHERE = Vector(("-",), "User")  # an input naming nothing in particular
# The first place each mutation names a user, file or grant: filled with a harmless target.
VECTORS = {name: vectors[0] for name, _, vectors in MUTATIONS}
# What a dry run leaves out on purpose: a secret that would never work is not shown.
WITHHELD = {
    ("accessKeyCreate", "secret"),
    ("accessKeyRotate", "secret"),
    ("webhookCreate", "signingSecret"),
    ("webhookSecretRotate", "signingSecret"),
}


def dry_runnable() -> list[str]:
    found = []
    for name, field in SDL.mutation_type.fields.items():
        input_arg = field.args.get("input")
        if input_arg is not None and "validateOnly" in get_named_type(input_arg.type).fields:
            found.append(name)
    return sorted(found)


DRY_RUNNABLE = dry_runnable()


def test_the_generator_finds_every_dry_runnable_mutation():
    assert {"userSessionsRevokeAll", "userCreate", "usersImport", "accessKeyCreate"} <= set(DRY_RUNNABLE)
    assert {"securityProfileDelete", "businessUnitUpdate", "userSkillsAdd"} <= set(DRY_RUNNABLE)
    assert len(DRY_RUNNABLE) >= 30


Adjust = Callable[[dict[str, Any]], None]


def _fill(**values: Any) -> Adjust:
    return lambda given: given.update(values)


def _newcomer(org: Organisation) -> Adjust:
    """A user to create: the generic input, with a security profile and a password."""
    profile = org.ids[("SecurityProfile", False)]
    values = {"securityProfileIds": [profile], "password": PASSWORD, "passwordConfirmation": PASSWORD}

    def adjust(given: dict[str, Any]) -> None:
        for row in given.get("users", [given]):
            row.update({k: v for k, v in values.items()})

    return adjust


async def arrange(db: Any, org: Organisation, mutation: str) -> Adjust | None:
    """What the generic input lacks to be valid, for the mutations whose rules need more than
    a well-typed value (an unused object to delete, a skill not yet held, a password...)."""
    unit = await db.get(m.BusinessUnit, 1)
    if mutation == "securityProfileDelete":
        unused = await f.security_profile(db, unit, [], name="Unused")
        await db.commit()
        return _fill(id=f.gid("SecurityProfile", unused.id))
    if mutation in ("userSkillsAdd", "skillUsersAdd"):
        skill = await f.named(db, m.Skill, unit, "Not yet held")
        await db.commit()
        if mutation == "skillUsersAdd":
            return _fill(skillId=f.gid("Skill", skill.id))
        return _fill(skills=[{"skillId": f.gid("Skill", skill.id), "proficiency": 5}])
    if mutation in ("userCreate", "usersCreate", "userCopy"):
        return _newcomer(org)
    if mutation == "userPasswordReset":
        return _fill(password=PASSWORD, passwordConfirmation=PASSWORD)
    if mutation == "accessKeyActivate":  # only a deactivated key can be reactivated
        await db.execute(update(m.AccessKey).values(active=False))
        await db.commit()
    if mutation == "userSkillsSetProficiency":
        return _fill(setAllTo=5)
    if mutation.startswith("userDirectReports"):  # the generic input has the user report to themself
        boss = org.ids[("User", True)]
        if mutation == "userDirectReportsRemove":
            org.users[False].manager_id = org.users[True].id
            db.add(org.users[False])
            await db.commit()
        return _fill(managerId=boss)
    if mutation in ("userUpdate", "usersUpdate"):  # the generic input makes the user their own manager
        boss = org.ids[("User", True)]
        return lambda given: [row.update(managerId=boss) for row in given.get("users", [given])]
    # An update that changes nothing writes nothing: these change a switch, or the name.
    if mutation == "businessUnitSettingsUpdate":
        return _fill(features={"wfm": True})
    if mutation == "webhookUpdate":
        return _fill(description="Described by webhookUpdate")
    if (
        mutation.endswith("Update")
        and "name" in get_named_type(SDL.mutation_type.fields[mutation].args["input"].type).fields
    ):
        return _fill(name=f"Renamed by {mutation}")
    return None


def shape(value: Any, mutation: str, key: str = "") -> Any:
    """What a payload looks like, not what it says: keys, and which values are null."""
    if isinstance(value, dict):
        return {k: shape(v, mutation, k) for k, v in value.items() if (mutation, k) not in WITHHELD}
    if isinstance(value, list):
        return [shape(v, mutation, key) for v in value]
    return value is None


def user_errors(payload: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("userErrors", "errors") and isinstance(value, list):
                found += value
            else:
                found += user_errors(value)
    elif isinstance(payload, list):
        for item in payload:
            found += user_errors(item)
    return found


@pytest.mark.parametrize("mutation", DRY_RUNNABLE)
async def test_a_dry_run_writes_nothing_and_answers_as_the_real_call(app, api, admin, db, mutation):
    org = await organisation(app, db)
    api.token = await api.login("boss", PASSWORD)
    vector = VECTORS.get(mutation, NOWHERE)
    adjust = await arrange(db, org, mutation)
    before = await snapshot(db)
    dry, value = await send(api, db, org, mutation, vector, privileged=False, dry=True, adjust=adjust)
    assert value["validateOnly"] is True
    assert "errors" not in dry, dry
    assert user_errors(dry["data"]) == [], (mutation, dry)
    assert await snapshot(db) == before, f"{mutation}(validateOnly: true) wrote"

    real, _ = await send(api, db, org, mutation, vector, privileged=False, dry=False, adjust=adjust)
    assert "errors" not in real, real
    assert user_errors(real["data"]) == [], (mutation, real)
    assert await snapshot(db) != before, (
        f"{mutation}: the real call wrote nothing, so the case proves nothing"
    )
    assert shape(dry["data"], mutation) == shape(real["data"], mutation)


async def test_a_dry_session_refuses_to_commit_whatever_the_use_case_does(app, admin, db):
    """The guard under every validate-only mutation: a use case that commits by itself (or is
    not told about the dry run) cannot keep anything."""
    unit = await db.get(m.BusinessUnit, 1)
    db.info[DRY_RUN] = True
    await f.named(db, m.Team, unit, "Kept?")
    with pytest.raises(DryRunCommit):
        await db.commit()
    await db.rollback()
    db.info.pop(DRY_RUN)
    assert (await db.execute(select(m.Team).where(m.Team.name == "Kept?"))).first() is None
