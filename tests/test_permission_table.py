"""Each action needs exactly the permissions the product pages list for it: for every mutation
that performs an action of NICE's "Manage Users" page (seed 004), the table quotes the page's
section and its "Required security profile permissions" line, and the mutation's
`@requiresPermission` in the live schema must be that list, no more and no less; run against
the server, those permissions let the action in and lacking any one of them is FORBIDDEN. Where
the seed is at hand (`../shared/seeds/`), every quote is checked against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema as parse_sdl

from ccgraph.config import Settings
from ccgraph.enums import Permission
from ccgraph.schema.schema import build_schema
from tests.test_authority_escalation import PASSWORD, organisation, send
from tests.test_dry_runs import NOWHERE, VECTORS, arrange

SEED = Path(__file__).parent.parent.parent / "shared" / "seeds" / "004_9e623310107db109.txt"
REQUIRED = "Required security profile permissions:"

CREATE = ("Create a User", f"{REQUIRED} Users Create")
ASSIGN = ("Assign Skills to a User", f"{REQUIRED} Users Edit, Skills Edit")
PROFICIENCIES = ("Change a User's Skill Proficiencies", f"{REQUIRED} Users Edit")
ACCESS_KEY = ("Configure a User's Access Key", f"{REQUIRED} Access Key Create")
# mutation -> (the section of NICE's "Manage Users" page for the action it performs, its line)
TABLE = {
    "userCreate": CREATE,
    "usersCreate": CREATE,
    # The page's step 2: "based on an existing user's profile, open that user's profile and click
    # Copy". Copying skills is giving skills, which the row rule checks as for any new user.
    "userCopy": CREATE,
    "businessUnitCustomFieldsUpdate": (
        "Edit the Custom User Fields",
        f"{REQUIRED} External Business Unit View, Business Unit Custom Fields Edit, Users Edit.",
    ),
    "userSkillsAdd": ASSIGN,
    "skillUsersAdd": ASSIGN,
    "userSkillsSetProficiency": PROFICIENCIES,
    "skillUsersSetProficiency": PROFICIENCIES,  # the same action, from the skill's side
    "userPasswordReset": ("Reset a User's Password", f"{REQUIRED} Users Edit"),
    "accessKeyCreate": ACCESS_KEY,
    "accessKeyDeactivate": ACCESS_KEY,
    "accessKeyDelete": ACCESS_KEY,
    "userMfaClear": ("Reset a User's MFA Secret", f"{REQUIRED} Users Edit"),
}


def listed(line: str) -> set[Permission]:
    """ "... Users Edit, Skills Edit." -> {USERS_EDIT, SKILLS_EDIT}"""
    names = line.removeprefix(REQUIRED).strip().rstrip(".").split(",")
    return {Permission(re.sub(r"\s+", "_", name.strip()).upper()) for name in names}


@pytest.fixture(scope="module")
def declared() -> dict[str, set[Permission]]:
    sdl = parse_sdl(build_schema(Settings(database_url="sqlite+aiosqlite://")).as_str())
    return {
        name: {
            Permission(value.value)
            for directive in field.ast_node.directives or []
            if directive.name.value == "requiresPermission"
            for argument in directive.arguments
            for value in argument.value.values
        }
        for name, field in sdl.mutation_type.fields.items()
    }


@pytest.mark.parametrize(("mutation", "quoted"), TABLE.items(), ids=list(TABLE))
def test_a_mutation_needs_exactly_what_the_product_page_lists(declared, mutation, quoted):
    section, line = quoted
    assert declared[mutation] == listed(line), f"{mutation}: NICE, {section!r}: {line!r}"


@pytest.mark.skipif(not SEED.exists(), reason="the product pages are not beside this checkout")
def test_every_quote_is_the_seed_s_own_line_and_every_section_is_in_the_table():
    lines = SEED.read_text().splitlines()
    sections = {}
    for index, line in enumerate(lines):
        if line.startswith(REQUIRED):
            title = next(t for t in reversed(lines[:index]) if t.strip())
            sections[title] = " ".join(line.split())  # the page has a no-break space
    assert {section: line for section, line in TABLE.values()} == sections


@pytest.mark.parametrize(("mutation", "quoted"), TABLE.items(), ids=list(TABLE))
async def test_the_listed_permissions_are_enough_and_each_is_needed(app, api, admin, db, mutation, quoted):
    """Run for real: an actor holding exactly the line's permissions is let in (a dry run);
    one lacking any of them is refused with FORBIDDEN."""
    org = await organisation(app, db)
    api.token = await api.login("attacker", PASSWORD)
    adjust = await arrange(db, org, mutation)
    await db.rollback()
    listed_here = listed(quoted[1])
    for held in [listed_here, *(listed_here - {p} for p in listed_here)]:
        org.attacker_profile.permissions = sorted(p.value for p in held)
        db.add(org.attacker_profile)
        await db.commit()
        vector = VECTORS.get(mutation, NOWHERE)
        body, _ = await send(api, db, org, mutation, vector, privileged=False, dry=True, adjust=adjust)
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert ("FORBIDDEN" in codes) == (held != listed_here), (mutation, sorted(held), body)
