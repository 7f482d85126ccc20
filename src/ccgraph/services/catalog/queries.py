"""Reading the named objects of a business unit: teams, queues, work streams, presence
statuses, skills, user profiles, security profiles, and the business units themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.search import contains_ci
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import visible


def ordering(model: Any) -> Ordering:
    return Ordering((model.name, model.id))


def catalog_query(
    model: Any, principal: Principal, search: str | None = None, business_unit_id: int | None = None
) -> Select[Any]:
    """Everything of `model` the principal may see, optionally narrowed by a name search."""
    unit_column = model.id if model is m.BusinessUnit else model.business_unit_id
    stmt = select(model).where(visible(principal, unit_column))
    if business_unit_id is not None:
        stmt = stmt.where(unit_column == business_unit_id)
    if search and search.strip():
        columns = [model.name] + ([model.description] if hasattr(model, "description") else [])
        stmt = stmt.where(contains_ci(search, *columns))
    return stmt


def skills_query(
    principal: Principal,
    search: str | None = None,
    not_assigned_to_user_id: int | None = None,
    business_unit_id: int | None = None,
) -> Select[Any]:
    stmt = catalog_query(m.Skill, principal, search, business_unit_id)
    if not_assigned_to_user_id is not None:
        # The "Add Skills" picker: skills of the user's own unit they do not have yet.
        unit = select(m.User.business_unit_id).where(m.User.id == not_assigned_to_user_id).scalar_subquery()
        stmt = stmt.where(m.Skill.business_unit_id == unit).where(
            ~select(m.UserSkill.skill_id)
            .where(m.UserSkill.skill_id == m.Skill.id, m.UserSkill.user_id == not_assigned_to_user_id)
            .exists()
        )
    return stmt
