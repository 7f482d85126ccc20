"""Authority: who may read, act on, grant or impersonate what. The rule, stated once:

- **Reading** an object needs the permission that guards its kind (`USERS_VIEW` for a user,
  `TEAMS_VIEW` for a team...), whatever path leads to it; the viewer may always read
  themselves.
- **Acting on a user** (any change, credentials, sessions, access keys, enabling, disabling,
  deleting, their profile, copying from them) needs, besides the action's own permissions,
  every permission that user holds: nobody acts on someone who outranks them.
- **Granting** (a security profile given to a user, a copy source, a bulk row, an imported
  file, the permissions of a security profile) never gives a permission the actor lacks; and
  editing a security profile needs every permission it holds or will hold.
- **The master administrator** is the only one who changes their own username, email,
  password, MFA, access keys, security profiles or enabled state. The built-in Administrator
  profile always holds every permission and is never deleted, and a business unit that has an
  enabled user holding every permission always keeps one.

Refusals are user errors with their own codes, the same with `validateOnly`. Every write path
calls these functions; none restates the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.services.errors import UserError
from ccgraph.services.scope import can_see
from ccgraph.services.writes import Actor, Rejected

EVERY_PERMISSION = frozenset(Permission)

# What the master administrator alone changes about themselves in a user update (their
# password, MFA, keys and enabled state have use cases of their own: `act_on(master_only=...)`).
MASTER_ONLY = frozenset({"username", "email", "security_profile_ids"})

TARGET_OUTRANKS_ACTOR = "TARGET_OUTRANKS_ACTOR"
PERMISSION_NOT_HELD = "PERMISSION_NOT_HELD"
PERMISSION_REQUIRED = "PERMISSION_REQUIRED"
MASTER_ADMINISTRATOR_PROTECTED = "MASTER_ADMINISTRATOR_PROTECTED"
ADMINISTRATOR_PROFILE_PROTECTED = "ADMINISTRATOR_PROFILE_PROTECTED"
LAST_ADMINISTRATOR = "LAST_ADMINISTRATOR"


# -- reading ----------------------------------------------------------------------------------

# The permission that guards reading each kind of object, wherever it is reached.
READ: dict[Any, Permission] = {
    m.User: Permission.USERS_VIEW,
    m.Team: Permission.TEAMS_VIEW,
    m.UserProfile: Permission.USER_PROFILES_VIEW,
    m.Queue: Permission.QUEUES_VIEW,
    m.WorkStream: Permission.WORK_STREAMS_VIEW,
    m.PresenceStatus: Permission.PRESENCE_STATUSES_VIEW,
    m.Skill: Permission.SKILLS_VIEW,
    m.SecurityProfile: Permission.SECURITY_PROFILES_VIEW,
    m.BusinessUnit: Permission.BUSINESS_UNITS_VIEW,
    m.AuditEvent: Permission.AUDIT_VIEW,
    m.Webhook: Permission.WEBHOOKS_MANAGE,
}
SELF_READABLE = m.User  # the viewer reads their own user without USERS_VIEW


def readable(principal: Principal | None, permission: Permission) -> bool:
    """Whether `principal` reads every object of the kind `permission` guards. A principal that
    must change their password first reads nothing but themselves."""
    return (
        principal is not None and not principal.must_change_password and permission in principal.permissions
    )


# -- what users hold --------------------------------------------------------------------------


def permissions_of(granted: Iterable[Iterable[str] | None]) -> frozenset[Permission]:
    """The union of security profiles' permission lists (unknown names are ignored)."""
    return frozenset(Permission(p) for ps in granted for p in ps or () if p in Permission.__members__)


async def held_by(session: AsyncSession, user_ids: Collection[int]) -> dict[int, frozenset[Permission]]:
    """Each user's effective permissions: one statement for many users."""
    granted: dict[int, list[list[str]]] = defaultdict(list)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(m.user_security_profiles.c.user_id, m.SecurityProfile.permissions)
            .join(m.SecurityProfile, m.SecurityProfile.id == m.user_security_profiles.c.security_profile_id)
            .where(m.user_security_profiles.c.user_id.in_(ids[start : start + 5000]))
        )
        for user_id, permissions in rows.all():
            granted[user_id].append(permissions)
    return {uid: permissions_of(granted.get(uid, ())) for uid in ids}


def _names(permissions: Iterable[Permission | str]) -> list[str]:
    return sorted(str(Permission(p)) for p in permissions)


def beyond(actor: Actor, permissions: Iterable[Permission | str]) -> list[str]:
    """The permissions among `permissions` that the actor does not hold."""
    held = actor.principal.permissions
    return _names(p for p in set(permissions) if p in Permission.__members__ and Permission(p) not in held)


# -- acting on a user -------------------------------------------------------------------------


def outranked(actor: Actor, user_id: int, held: frozenset[Permission], field: list[str]) -> UserError | None:
    """TARGET_OUTRANKS_ACTOR when the user named by `field` holds (`held`) a permission the
    actor lacks. Every user a write names counts: the one changed, a copy source, a manager,
    a skill's users."""
    if user_id == actor.principal.user_id:
        return None
    missing = beyond(actor, held)
    if not missing:
        return None
    return UserError(
        field,
        TARGET_OUTRANKS_ACTOR,
        f"This user holds permissions you do not: {', '.join(missing)}.",
    )


def master_protected(actor: Actor, target: m.User, field: list[str], what: str) -> UserError | None:
    """Only the master administrator changes their own identity and credentials."""
    if not target.is_master_admin or target.id == actor.principal.user_id:
        return None
    return UserError(
        field,
        MASTER_ADMINISTRATOR_PROTECTED,
        f"Only the master administrator changes their own {what}.",
    )


async def act_on(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    field: str = "id",
    *,
    master_only: str | None = None,
) -> m.User:
    """The user `actor` may act on, or Rejected: not found in a unit the actor sees, outranks
    the actor, or (when the action changes `master_only`, e.g. "password") is the master
    administrator and the actor is not."""
    user = await session.get(m.User, user_id, populate_existing=True)
    if user is None or not can_see(actor.principal, user.business_unit_id):
        raise Rejected([UserError([field], "NOT_FOUND", "No user with this ID in the business unit.")])
    held = (await held_by(session, [user.id]))[user.id]
    problems = [outranked(actor, user.id, held, [field])]
    if master_only is not None:
        problems.append(master_protected(actor, user, [field], master_only))
    errors = [p for p in problems if p is not None]
    if errors:
        raise Rejected(errors)
    return user


# -- granting ---------------------------------------------------------------------------------


def not_grantable(actor: Actor, permissions: Iterable[str], field: list[str]) -> UserError | None:
    """PERMISSION_NOT_HELD when `permissions` include one the actor lacks."""
    missing = beyond(actor, permissions)
    if not missing:
        return None
    return UserError(
        field, PERMISSION_NOT_HELD, f"You cannot grant permissions you do not hold: {', '.join(missing)}."
    )


def required(actor: Actor, permission: Permission, field: list[str], what: str) -> UserError | None:
    """PERMISSION_REQUIRED when part of an input needs a permission besides the mutation's."""
    if permission in actor.principal.permissions:
        return None
    return UserError(field, PERMISSION_REQUIRED, f"{what} needs the permission {permission.value}.")


def security_profile_change(
    actor: Actor, profile: m.SecurityProfile | None, values: dict[str, Any]
) -> list[UserError]:
    """Editing a security profile needs every permission it holds or will hold; the built-in
    Administrator profile keeps every permission. `profile` is None on create."""
    errors: list[UserError] = []
    if profile is not None:
        missing = beyond(actor, profile.permissions or ())
        if missing:
            errors.append(
                UserError(
                    ["id"],
                    TARGET_OUTRANKS_ACTOR,
                    f"This security profile holds permissions you do not: {', '.join(missing)}.",
                )
            )
        wanted = values.get("permissions")
        if profile.is_administrator and wanted is not None and permissions_of([wanted]) != EVERY_PERMISSION:
            errors.append(
                UserError(
                    ["permissions"],
                    ADMINISTRATOR_PROFILE_PROTECTED,
                    "The Administrator profile always holds every permission.",
                )
            )
    grant = not_grantable(actor, values.get("permissions") or (), ["permissions"])
    if grant is not None:
        errors.append(grant)
    return errors


def security_profile_removal(actor: Actor, profile: m.SecurityProfile) -> list[UserError]:
    errors = security_profile_change(actor, profile, {})
    if profile.is_administrator:
        errors.append(
            UserError(["id"], ADMINISTRATOR_PROFILE_PROTECTED, "The Administrator profile cannot be deleted.")
        )
    return errors


# -- the unit keeps an administrator ----------------------------------------------------------


async def administered(session: AsyncSession, unit_ids: Collection[int]) -> dict[int, bool]:
    """Whether each unit has an enabled user holding every permission. Usually one profile
    holds them all (the Administrator profile): one statement; otherwise the union of each
    user's profiles is computed."""
    units = sorted(set(unit_ids))
    profiles = (
        await session.execute(
            select(m.SecurityProfile.id, m.SecurityProfile.permissions).where(
                m.SecurityProfile.business_unit_id.in_(units)
            )
        )
    ).all()
    complete = [pid for pid, permissions in profiles if permissions_of([permissions]) == EVERY_PERMISSION]
    link = m.user_security_profiles
    found = set(
        (
            await session.execute(
                select(m.User.business_unit_id)
                .join(link, link.c.user_id == m.User.id)
                .where(
                    m.User.business_unit_id.in_(units),
                    m.User.enabled.is_(True),
                    link.c.security_profile_id.in_(complete),
                )
                .distinct()
            )
        ).scalars()
    )
    for unit_id in [u for u in units if u not in found]:
        rows = await session.execute(
            select(m.User.id, m.SecurityProfile.permissions)
            .join(link, link.c.user_id == m.User.id)
            .join(m.SecurityProfile, m.SecurityProfile.id == link.c.security_profile_id)
            .where(m.User.business_unit_id == unit_id, m.User.enabled.is_(True))
        )
        granted: dict[int, list[Any]] = defaultdict(list)
        for user_id, permissions in rows.all():
            granted[user_id].append(permissions)
        if any(permissions_of(lists) == EVERY_PERMISSION for lists in granted.values()):
            found.add(unit_id)
    return {u: u in found for u in units}


async def keep_administered(session: AsyncSession, before: dict[int, bool], field: list[str]) -> None:
    """After a change, refuse it if a unit that had an administrator (`before`) has none."""
    had = [u for u, yes in before.items() if yes]
    if not had:
        return
    await session.flush()
    after = await administered(session, had)
    if not all(after.values()):
        raise Rejected(
            [
                UserError(
                    field,
                    LAST_ADMINISTRATOR,
                    "The business unit would be left without an enabled user holding every permission.",
                )
            ]
        )
