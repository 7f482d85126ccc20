"""A dry run shows the difference: each field that would change, before and after, named as in
the input, references as global IDs, for users and for catalog objects; the real call answers
the same, and a refused call shows no changes."""

from __future__ import annotations

from ccgraph.db import models as m
from tests import factories as f
from tests.test_bulk import csv_bytes, upload

CHANGES = "changes { field before after }"


def by_field(changes: list[dict]) -> dict[str, tuple]:
    return {".".join(c["field"]): (c["before"], c["after"]) for c in changes}


async def test_a_user_update_preview_lists_each_change_in_input_terms(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    boss = await f.user(db, unit, "boss")
    agent = await f.user(db, unit, "agent", capacity=10)
    team = await f.named(db, m.Team, unit, "Blue")
    await db.commit()
    query = f"""mutation($input: UserUpdateInput!) {{ userUpdate(input: $input) {{
        user {{ version }} userErrors {{ code }} {CHANGES} }} }}"""
    change = {
        "id": f.gid("User", agent.id),
        "version": agent.version,
        "managerId": f.gid("User", boss.id),
        "teamId": f.gid("Team", team.id),
        "capacity": 25,
        "firstName": "First",  # unchanged: not listed
    }
    dry = (await admin_api.data(query, {"input": change | {"validateOnly": True}}))["userUpdate"]
    assert dry["userErrors"] == []
    assert by_field(dry["changes"]) == {
        "managerId": (None, f.gid("User", boss.id)),
        "teamId": (None, f.gid("Team", team.id)),
        "capacity": (10, 25),
    }
    real = (await admin_api.data(query, {"input": change}))["userUpdate"]
    assert real["changes"] == dry["changes"]
    again = await admin_api.data(query, {"input": change | {"version": real["user"]["version"]}})
    assert again["userUpdate"]["changes"] == []  # nothing left to change


async def test_a_catalog_preview_lists_scalar_and_list_changes(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    queue = await f.queue(db, unit, "Sales")
    profile = await f.named(db, m.UserProfile, unit, "Day shift", capacity=5)
    await db.commit()
    query = f"""mutation($input: UserProfileUpdateInput!) {{ userProfileUpdate(input: $input) {{
        userProfile {{ capacity }} userErrors {{ code message }} {CHANGES} }} }}"""
    change = {
        "id": f.gid("UserProfile", profile.id),
        "version": profile.version,
        "capacity": 8,
        "queueIds": [f.gid("Queue", queue.id)],
        "validateOnly": True,
    }
    dry = (await admin_api.data(query, {"input": change}))["userProfileUpdate"]
    assert dry["userErrors"] == []
    assert dry["userProfile"] == {"capacity": 8}
    assert by_field(dry["changes"]) == {"capacity": (5, 8), "queueIds": ([], [f.gid("Queue", queue.id)])}
    await db.refresh(profile)
    assert profile.capacity == 5


async def test_a_delete_preview_shows_what_goes_and_a_refused_call_shows_nothing(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    team = await f.named(db, m.Team, unit, "Gone soon")
    await db.commit()
    delete = f"""mutation($id: ID!) {{ teamDelete(input: {{id: $id, validateOnly: true}}) {{
        deletedId userErrors {{ code }} {CHANGES} }} }}"""
    dry = (await admin_api.data(delete, {"id": f.gid("Team", team.id)}))["teamDelete"]
    assert by_field(dry["changes"])["name"] == ("Gone soon", None)
    create = f"""mutation {{ teamCreate(input: {{name: "Gone soon", validateOnly: true}}) {{
        team {{ name }} userErrors {{ code }} {CHANGES} }} }}"""
    refused = (await admin_api.data(create))["teamCreate"]
    assert [e["code"] for e in refused["userErrors"]] == ["TAKEN"]
    assert refused["changes"] == []


async def test_a_bulk_preview_lists_each_row_s_changes(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    first = await f.user(db, unit, "first", city="Leeds")
    second = await f.user(db, unit, "second", city="York")
    await db.commit()
    query = f"""mutation($input: UsersUpdateInput!) {{ usersUpdate(input: $input) {{
        results {{ row userErrors {{ code }} {CHANGES} }} userErrors {{ code }} }} }}"""
    rows = [
        {"id": f.gid("User", first.id), "version": first.version, "city": "Hull"},
        {"id": f.gid("User", second.id), "version": second.version, "city": "York"},  # the same
    ]
    dry = (await admin_api.data(query, {"input": {"users": rows, "validateOnly": True}}))["usersUpdate"]
    assert dry["userErrors"] == []
    assert [by_field(r["changes"]) for r in dry["results"]] == [{"city": ("Leeds", "Hull")}, {}]
    await db.refresh(first)
    assert first.city == "Leeds"


async def test_an_import_preview_lists_each_row_s_changes(admin_api, db):
    unit = await db.get(m.BusinessUnit, 1)
    await f.user(db, unit, "filed", city="Leeds")
    await db.commit()
    content = csv_bytes([["username", "city"], ["filed", "Hull"]])
    result = await upload(
        admin_api, content, mode="UPDATE", result=f"results {{ {CHANGES} }}", validateOnly=True
    )
    assert [by_field(r["changes"]) for r in result["results"]] == [{"city": ("Leeds", "Hull")}]
