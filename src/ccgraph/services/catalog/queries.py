"""Reading the named objects of a business unit: teams, queues, work streams, presence
statuses, skills, user profiles, security profiles, and the business units themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.search import contains_ci
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import visible


def ordering(model: Any) -> Ordering:
    return Ordering((model.name, model.id))


def _named(model: Any, unit_column: Any, principal: Principal, search: str | None) -> Select[Any]:
    """Everything of `model` the principal may see, optionally narrowed by a name search."""
    stmt = select(model).where(visible(principal, unit_column))
    if search and search.strip():
        columns = [model.name] + ([model.description] if hasattr(model, "description") else [])
        stmt = stmt.where(contains_ci(search, *columns))
    return stmt


def business_units_query(principal: Principal, search: str | None = None) -> Select[Any]:
    """The principal's own unit, or every unit with EXTERNAL_BUSINESS_UNIT_VIEW."""
    return _named(m.BusinessUnit, m.BusinessUnit.id, principal, search)


def catalog_query(
    model: Any,
    principal: Principal,
    search: str | None = None,
    business_unit_id: int | ColumnElement[int] | None = None,
) -> Select[Any]:
    """The objects of one business unit: `business_unit_id`, else the principal's own (a list
    never mixes units, whose objects share names: "Available" in each). A unit the principal may
    not see gives nothing, as `users(filter: {businessUnitId})` does."""
    unit = principal.business_unit_id if business_unit_id is None else business_unit_id
    return _named(model, model.business_unit_id, principal, search).where(model.business_unit_id == unit)


def skills_query(
    principal: Principal,
    search: str | None = None,
    not_assigned_to_user_id: int | None = None,
    business_unit_id: int | None = None,
) -> Select[Any]:
    if not_assigned_to_user_id is None:
        return catalog_query(m.Skill, principal, search, business_unit_id)
    # The "Add Skills" picker: skills of the user's own unit they do not have yet.
    unit = select(m.User.business_unit_id).where(m.User.id == not_assigned_to_user_id).scalar_subquery()
    stmt = catalog_query(m.Skill, principal, search, unit if business_unit_id is None else business_unit_id)
    return stmt.where(m.Skill.business_unit_id == unit).where(
        ~select(m.UserSkill.skill_id)
        .where(m.UserSkill.skill_id == m.Skill.id, m.UserSkill.user_id == not_assigned_to_user_id)
        .exists()
    )
