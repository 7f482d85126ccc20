"""The planned executor's fast path is taken: on a real users page, the plain fields (a
Strawberry field that only reads an attribute) never go through graphql-core's
`execute_field`, while under the reference executor every one of them does (so the count is
real). An upgrade of Strawberry or graphql-core that made the plans fall back to graphql-core
everywhere would keep every other test green and only cost speed: this one fails then.

Likewise the objects whose selection only reads attributes (a team's name, a skill edge with
its node) are completed directly (ccgraph.execution.direct), never by the plan's loop."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from ccgraph.app import create_app
from ccgraph.execution.planned import GuardedExecutor, PlannedExecutor
from ccgraph.schema.schema import build_schema
from tests import factories as f
from tests.conftest import cheap_settings

PAGE = """{ users(first: 20) { totalCount edges { cursor node {
  username firstName lastName team { name } skills { edges { proficiency node { name } } } } } } }"""
PLAIN = {
    ("User", "username"),
    ("User", "firstName"),
    ("User", "lastName"),
    ("Team", "name"),
    ("Skill", "name"),
}


def count_execute_field(monkeypatch: Any) -> tuple[Counter[tuple[str, str]], set[type]]:
    """Each call of graphql-core's `execute_field` by (parent type, field), and the executor
    classes that made them."""
    calls: Counter[tuple[str, str]] = Counter()
    executors: set[type] = set()
    original = StrawberryGraphQLCoreExecutionContext.execute_field

    def counting(self: Any, parent_type: Any, source: Any, details: Any, path: Any, position: Any) -> Any:
        calls[(parent_type.name, details[0].node.name.value)] += 1
        executors.add(type(self))
        return original(self, parent_type, source, details, path, position)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counting)
    return calls, executors


async def test_plain_fields_of_a_users_page_never_reach_execute_field(settings, db, admin_api, monkeypatch):
    await f.organisation(db, 6)
    calls, executors = count_execute_field(monkeypatch)
    data = await admin_api.data(PAGE)
    users = [edge["node"] for edge in data["users"]["edges"]]
    skills = sum(len(u["skills"]["edges"]) for u in users)
    teams = sum(1 for u in users if u["team"] is not None)
    assert len(users) >= 7 and skills >= 6 and teams == 6  # the page holds what is counted
    assert calls[("Query", "users")] == 1  # the counter sees both executors' calls
    if settings.planned_execution:
        assert executors == {PlannedExecutor}
        assert {key: n for key, n in calls.items() if key in PLAIN} == {}, (
            "plain fields went through graphql-core's execute_field: the planned executor fell "
            "back (see README.md, 'Upgrading Strawberry or graphql-core')"
        )
    else:
        assert executors == {GuardedExecutor}
        assert calls[("User", "username")] == len(users)
        assert calls[("User", "lastName")] == len(users)
        assert calls[("Team", "name")] == teams
        assert calls[("Skill", "name")] == skills


async def test_plain_objects_of_a_users_page_are_completed_directly(settings, db, admin_api, monkeypatch):
    if not settings.planned_execution:
        return  # (graphql-core's executor has no plans: the test above counts its calls)
    await f.organisation(db, 6)
    looped: Counter[str] = Counter()
    run = PlannedExecutor._run

    def counting(self: Any, parent_type: Any, source: Any, path: Any, plan: Any) -> Any:
        looped[parent_type.name] += 1
        return run(self, parent_type, source, path, plan)

    monkeypatch.setattr(PlannedExecutor, "_run", counting)
    for _ in range(2):
        data = await admin_api.data(PAGE)
    users = len(data["users"]["edges"])
    # the users and what holds them go through the loop (a user's relations have resolvers);
    # a team, a skills connection, its edges and their skills never do (the first of each
    # kind in a request may: its class is learnt then)
    assert looped["User"] == 2 * users and looped["Query"] == 2
    direct = {"Team", "Skill", "SkillProficiencyEdge", "SkillProficiencyConnection"}
    assert direct <= set(build_schema(settings)._schema.type_map)  # (names that exist)
    skills = sum(len(edge["node"]["skills"]["edges"]) for edge in data["users"]["edges"])
    assert skills > 2 * len(direct)  # were they looped, the count below would show it
    assert sum(looped[name] for name in direct) <= 2 * len(direct), looped


async def test_switching_the_planned_executor_off_is_logged_at_start_up(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ccgraph")
    url = f"sqlite+aiosqlite:///{tmp_path / 'ccgraph.db'}"
    for planned in (True, False):
        caplog.clear()
        app = create_app(cheap_settings(url, planned_execution=planned))
        await app.state.engine.dispose()
        warned = [r for r in caplog.records if "CCGRAPH_PLANNED_EXECUTION=false" in r.getMessage()]
        assert len(warned) == (0 if planned else 1)
        assert all(r.levelno == logging.WARNING and r.name == "ccgraph" for r in warned)
