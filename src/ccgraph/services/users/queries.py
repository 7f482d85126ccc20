"""Reading users: the directory's filters and orderings."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.models.business_units import unit_user_counts
from ccgraph.db.search import contains_ci, users_contain
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import visible


class UserOrderField(enum.Enum):
    USERNAME = "username"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    CREATED_AT = "created_at"


USER_ORDER = Ordering((m.User.username, m.User.id))
DEFAULT_ORDER = "NAME:ASC"


def assignment_orderings(name: Any, pk: Any) -> dict[str, Ordering]:
    """Orders of a user's skills or a skill's users: by name, or by proficiency then name."""
    orders = {}
    for descending, direction in ((False, "ASC"), (True, "DESC")):
        orders[f"NAME:{direction}"] = Ordering((name, pk), descending=descending)
        orders[f"PROFICIENCY:{direction}"] = Ordering(
            (m.UserSkill.proficiency, name, pk), descending=descending
        )
    return orders


def user_ordering(field: UserOrderField, descending: bool) -> Ordering:
    return Ordering((getattr(m.User, field.value), m.User.id), descending=descending)


@dataclass(frozen=True, slots=True)
class UserFilter:
    search: str | None = None
    enabled: bool | None = None
    team_id: int | None = None
    user_profile_id: int | None = None
    security_profile_id: int | None = None
    security_profile_ids: tuple[int, ...] | None = None  # any of them; () matches nobody
    skill_id: int | None = None
    not_skill_id: int | None = None
    business_unit_id: int | None = None
    # (label, value): the custom field of that label, in each user's own unit, has that value
    custom_fields: tuple[tuple[str, str | None], ...] = ()
    # changed at or after this instant (an integrator's sync: `updated_at` moves on every write
    # to the user, their links and skills included)
    updated_since: datetime | None = None


def _custom_field_is(label: str, value: str | None) -> Any:
    unit = m.BusinessUnit
    clauses = []
    for slot in range(1, 6):
        column = getattr(m.User, f"custom_{slot}")
        wanted = column.is_(None) if value is None else func.lower(column) == value.strip().lower()
        clauses.append(
            and_(func.lower(getattr(unit, f"custom_field_{slot}_label")) == label.strip().lower(), wanted)
        )
    return select(unit.id).where(unit.id == m.User.business_unit_id, or_(*clauses)).exists()


def search_users(stmt: Select[Any], search: str | None) -> Select[Any]:
    if not search or not search.strip():
        return stmt
    return stmt.where(users_contain(search))


def users_query(principal: Principal, f: UserFilter) -> Select[Any]:
    stmt = search_users(select(m.User).where(visible(principal, m.User.business_unit_id)), f.search)
    if f.enabled is not None:
        stmt = stmt.where(m.User.enabled.is_(f.enabled))
    if f.team_id is not None:
        stmt = stmt.where(m.User.team_id == f.team_id)
    if f.user_profile_id is not None:
        stmt = stmt.where(m.User.user_profile_id == f.user_profile_id)
    if f.business_unit_id is not None:
        stmt = stmt.where(m.User.business_unit_id == f.business_unit_id)
    if f.updated_since is not None:
        stmt = stmt.where(m.User.updated_at >= f.updated_since)
    if f.security_profile_id is not None:
        stmt = stmt.where(_holds_any((f.security_profile_id,)))
    if f.security_profile_ids is not None:
        stmt = stmt.where(_holds_any(f.security_profile_ids))
    for label, value in f.custom_fields:
        stmt = stmt.where(_custom_field_is(label, value))
    if f.skill_id is not None:
        stmt = stmt.where(_has_skill(f.skill_id))
    if f.not_skill_id is not None:
        # The "Add Users" picker: users of the skill's own unit who do not have it yet.
        unit = select(m.Skill.business_unit_id).where(m.Skill.id == f.not_skill_id).scalar_subquery()
        stmt = stmt.where(m.User.business_unit_id == unit, ~_has_skill(f.not_skill_id))
    return stmt


def users_total(principal: Principal, f: UserFilter) -> Select[Any] | None:
    """The total of a users list that limits nothing but the business unit, read from the units'
    counts (`unit_user_counts`, kept by triggers) rather than counted user by user: a count
    walks the unit's users, 100,000 of them in a large contact centre. None when the filter
    asks more (the rows are then counted)."""
    search = (f.search or "").strip() or None
    if dataclasses.replace(f, search=search, business_unit_id=None) != UserFilter():
        return None
    counts = unit_user_counts.c
    stmt = select(func.coalesce(func.sum(counts.users), 0)).where(visible(principal, counts.business_unit_id))
    if f.business_unit_id is not None:
        stmt = stmt.where(counts.business_unit_id == f.business_unit_id)
    return stmt


def _holds_any(security_profile_ids: tuple[int, ...]) -> Any:
    """The user holds at least one of the security profiles (the Omnichannel users view is
    the users holding any of its roles)."""
    link = m.user_security_profiles.c
    return (
        select(link.user_id)
        .where(link.user_id == m.User.id, link.security_profile_id.in_(security_profile_ids))
        .exists()
    )


def _has_skill(skill_id: int) -> Any:
    return (
        select(m.UserSkill.user_id)
        .where(m.UserSkill.user_id == m.User.id, m.UserSkill.skill_id == skill_id)
        .exists()
    )


def user_skills_query(search: str | None) -> Select[Any]:
    stmt = select(m.Skill).join(m.UserSkill, m.UserSkill.skill_id == m.Skill.id)
    if search and search.strip():
        stmt = stmt.where(contains_ci(search, m.Skill.name, m.Skill.description))
    return stmt
