"""The planned executor converts a nested field's arguments once per request, not once per
parent: on a users page, `skills(first: $n)` is converted by Strawberry once, and every user's
page still follows the arguments and fails alike when they are bad. An input object (`orderBy`)
is converted for each parent, so that no two resolvers share a mutable value. (Under the
reference executor graphql-core goes through Strawberry's own conversion.)"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ccgraph.execution import planned
from tests import factories as f

PAGE = """query($n: Int!) { users(first: 20) { edges { node {
  username skills(first: $n) { edges { proficiency node { name } } } } } } }"""
ORDERED = """query($n: Int!, $order: ProficiencyOrderField!) { users(first: 20) { edges { node {
  username skills(first: $n, orderBy: {field: $order, direction: DESC}) {
    edges { proficiency node { name } } } } } } }"""
SKILLS = "after,before,first,last,orderBy,search"  # the arguments of User.skills


def count_conversions(monkeypatch: Any) -> Counter[str]:
    """Each call of Strawberry's argument conversion by the planned executor, by the names of the
    arguments converted (those given and those with a default)."""
    calls: Counter[str] = Counter()
    original = planned.convert_arguments

    def counting(values: Any, arguments: Any, *rest: Any) -> Any:
        calls[",".join(sorted(values))] += 1
        return original(values, arguments, *rest)

    monkeypatch.setattr(planned, "convert_arguments", counting)
    return calls


def skill_names(data: dict[str, Any]) -> list[list[str]]:
    """Each agent's skills on the page, agent by agent."""
    users = [edge["node"] for edge in data["users"]["edges"]]
    agents = [u for u in users if u["username"].startswith("agent")]
    assert len(agents) == len(users) - 2  # and the boss and the admin
    return [[edge["node"]["name"] for edge in agent["skills"]["edges"]] for agent in agents]


async def test_nested_arguments_are_converted_once_and_apply_to_every_parent(
    settings, db, admin_api, monkeypatch
):
    await f.organisation(db, 8)
    calls = count_conversions(monkeypatch)
    names = skill_names(await admin_api.data(PAGE, {"n": 2}))
    # agent i has skills S0 .. S(i % 4); a page of 2, by name
    assert names == [[f"S{k}" for k in range(1 + i % 4)][:2] for i in range(8)]
    assert calls[SKILLS] == (1 if settings.planned_execution else 0)


async def test_input_object_arguments_are_converted_for_each_parent(settings, db, admin_api, monkeypatch):
    await f.organisation(db, 8)
    calls = count_conversions(monkeypatch)
    names = skill_names(await admin_api.data(ORDERED, {"n": 2, "order": "PROFICIENCY"}))
    # an agent's skills share one proficiency: by name, descending
    assert names == [[f"S{k}" for k in range(1 + i % 4)][::-1][:2] for i in range(8)]
    assert calls[SKILLS] == (10 if settings.planned_execution else 0)


async def test_bad_nested_arguments_fail_at_every_parent(settings, db, admin_api):
    await f.organisation(db, 3)
    body = await admin_api.post(PAGE, {"n": 500})
    failed = sorted(tuple(e["path"]) for e in body["errors"])
    assert len(failed) == len(body["data"]["users"]["edges"]) == 5
    assert failed == [("users", "edges", i, "node", "skills") for i in range(5)]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
