"""Creating, copying, editing, enabling, disabling and deleting users, and assigning their
profile. Every change is checked whole before anything is written, written in one
transaction, and audited in it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.services import audit, password_policy
from ccgraph.services.auth import normalize_username
from ccgraph.services.errors import UserError
from ccgraph.services.scope import can_see
from ccgraph.services.user_fields import (
    BY_COLUMN,
    COLLECTIONS,
    COPIED_COLLECTIONS,
    FIELDS,
    REQUIRED_ON_CREATE,
    meaningful,
    snapshot,
)
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

# `values` maps user columns (see user_fields.FIELDS) and the collection keys
# (security_profile_ids, queue_ids, work_stream_ids, skills = [(skill_id, proficiency)])
# to what the caller gave; a key that is absent is left as it is.
Values = dict[str, Any]


def not_found(field: list[str], what: str) -> UserError:
    return UserError(field, "NOT_FOUND", f"No {what} with this ID in the business unit.")


async def target_unit(session: AsyncSession, actor: Actor, business_unit_id: int | None) -> m.BusinessUnit:
    """The unit a new object goes into: the caller's own, or one they name and may see."""
    unit_id = business_unit_id or actor.principal.business_unit_id
    unit = await session.get(m.BusinessUnit, unit_id)
    if unit is None or not can_see(actor.principal, unit_id):
        raise Rejected([not_found(["businessUnitId"], "business unit")])
    return unit


async def visible_user(session: AsyncSession, actor: Actor, user_id: int, field: str = "id") -> m.User:
    user = await session.get(m.User, user_id, populate_existing=True)
    if user is None or not can_see(actor.principal, user.business_unit_id):
        raise Rejected([not_found([field], "user")])
    return user


class _Checker:
    """Collects every problem with a user's values; nothing is written while it runs."""

    def __init__(
        self, session: AsyncSession, actor: Actor, unit: m.BusinessUnit, user: m.User | None
    ) -> None:
        self.session, self.actor, self.unit, self.user = session, actor, unit, user
        self.errors: list[UserError] = []

    def fail(self, field: list[str], code: str, message: str) -> None:
        self.errors.append(UserError(field, code, message))

    async def check(self, values: Values, *, creating: bool) -> None:
        if creating:
            for column in REQUIRED_ON_CREATE:
                if not values.get(column):
                    self.fail(
                        BY_COLUMN[column].api_path,
                        "REQUIRED",
                        f"{BY_COLUMN[column].api_path[-1]} is required",
                    )
        for column, value in values.items():
            f = BY_COLUMN.get(column)
            if f is None:
                continue
            if column in REQUIRED_ON_CREATE and not creating and not value:
                self.fail(f.api_path, "REQUIRED", f"{f.api_path[-1]} cannot be emptied")
                continue
            problem = f.check(value) if f.check else None
            if problem:
                self.fail(f.api_path, "INVALID", f"{f.api_path[-1]} {problem}")
            if f.feature and meaningful(value) and not f.feature.applies(self.unit):
                self.fail(f.api_path, "FEATURE_DISABLED", f"{f.api_path[-1]} {f.feature.refusal()}")
        await self._unique_username(values)
        await self._references(values)
        await self._collections(values, creating=creating)

    async def _unique_username(self, values: Values) -> None:
        name = values.get("username")
        if not name or any(e.field == ["username"] for e in self.errors):
            return
        stmt = select(m.User.id).where(m.User.username == name)
        if self.user is not None:
            stmt = stmt.where(m.User.id != self.user.id)
        if (await self.session.execute(stmt)).first():
            self.fail(["username"], "TAKEN", f"The username {name!r} is taken.")

    async def _in_unit(self, model: Any, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        rows = await self.session.execute(
            select(model.id).where(model.id.in_(ids), model.business_unit_id == self.unit.id)
        )
        return set(rows.scalars())

    async def _references(self, values: Values) -> None:
        for column, model, what in (
            ("team_id", m.Team, "team"),
            ("manager_id", m.User, "user"),
            ("user_profile_id", m.UserProfile, "user profile"),
            ("default_presence_id", m.PresenceStatus, "presence status"),
        ):
            ref = values.get(column)
            if ref is not None and ref not in await self._in_unit(model, [ref]):
                self.fail(
                    BY_COLUMN[column].api_path, "NOT_FOUND", f"No {what} with this ID in the business unit."
                )
        manager = values.get("manager_id")
        if manager is not None and self.user is not None and await self._reports_to(manager, self.user.id):
            self.fail(
                ["managerId"], "INVALID", "A user cannot be managed by themselves or by a direct report."
            )

    async def _reports_to(self, manager_id: int, user_id: int) -> bool:
        """Whether `manager_id` is `user_id` or someone below them in the management chain."""
        seen: set[int] = set()
        current: int | None = manager_id
        while current is not None and current not in seen:
            if current == user_id:
                return True
            seen.add(current)
            current = (
                await self.session.execute(select(m.User.manager_id).where(m.User.id == current))
            ).scalar()
        return False

    async def _collections(self, values: Values, *, creating: bool) -> None:
        profile_ids = values.get("security_profile_ids")
        if creating and not profile_ids:
            self.fail(
                COLLECTIONS["security_profile_ids"], "REQUIRED", "A user needs at least one security profile."
            )
        elif profile_ids is not None:
            if not profile_ids:
                self.fail(
                    COLLECTIONS["security_profile_ids"],
                    "REQUIRED",
                    "A user needs at least one security profile.",
                )
            await self._security_profiles(profile_ids)
        for key, model, what in (
            ("queue_ids", m.Queue, "queue"),
            ("work_stream_ids", m.WorkStream, "work stream"),
        ):
            ids = values.get(key)
            if ids:
                missing = set(ids) - await self._in_unit(model, ids)
                for index, ref in enumerate(ids):
                    if ref in missing:
                        self.fail(
                            [*COLLECTIONS[key], str(index)],
                            "NOT_FOUND",
                            f"No {what} with this ID in the business unit.",
                        )
        skills = values.get("skills")
        if skills:
            found = await self._in_unit(m.Skill, [s for s, _ in skills])
            seen: set[int] = set()
            for index, (skill_id, proficiency) in enumerate(skills):
                path = ["skills", str(index)]
                if skill_id not in found:
                    self.fail([*path, "skillId"], "NOT_FOUND", "No skill with this ID in the business unit.")
                if skill_id in seen:
                    self.fail([*path, "skillId"], "DUPLICATE", "This skill is listed twice.")
                seen.add(skill_id)
                if not PROFICIENCY_MOST <= proficiency <= PROFICIENCY_LEAST:
                    self.fail(
                        [*path, "proficiency"],
                        "INVALID",
                        f"proficiency must be between {PROFICIENCY_MOST} (most) and {PROFICIENCY_LEAST}",
                    )

    async def _security_profiles(self, ids: Sequence[int]) -> None:
        rows = (
            (
                await self.session.execute(
                    select(m.SecurityProfile).where(
                        m.SecurityProfile.id.in_(ids), m.SecurityProfile.business_unit_id == self.unit.id
                    )
                )
            )
            .scalars()
            .all()
        )
        found = {r.id: r for r in rows}
        for index, ref in enumerate(ids):
            path = [*COLLECTIONS["security_profile_ids"], str(index)]
            profile = found.get(ref)
            if profile is None:
                self.fail(path, "NOT_FOUND", "No security profile with this ID in the business unit.")
                continue
            beyond = sorted(set(profile.permissions) - {p.value for p in self.actor.principal.permissions})
            if beyond:
                self.fail(
                    path,
                    "PERMISSION_NOT_HELD",
                    f"You cannot grant permissions you do not hold: {', '.join(beyond)}.",
                )

    async def passwords(self, values: Values, password: str | None, confirmation: str | None) -> str | None:
        """The password to set: the given one if it meets the policy, or a generated one when
        the security profiles generate random passwords (then none may be given)."""
        ids = values.get("security_profile_ids") or []
        profiles = (
            (await self.session.execute(select(m.SecurityProfile).where(m.SecurityProfile.id.in_(ids))))
            .scalars()
            .all()
            if ids
            else []
        )
        policy = password_policy.policy_for(profiles)
        if policy.generate_random:
            if password or confirmation:
                self.fail(
                    ["password"],
                    "PASSWORD_NOT_ALLOWED",
                    "The security profile generates random passwords: leave password empty.",
                )
                return None
            return password_policy.generate(policy)
        if not password:
            self.fail(["password"], "REQUIRED", "password is required")
            return None
        if password != confirmation:
            self.fail(["passwordConfirmation"], "PASSWORD_MISMATCH", "The passwords do not match.")
        for problem in password_policy.problems(password, policy):
            self.fail(["password"], "PASSWORD_POLICY", f"password {problem}")
        return password


def _normalized(values: Values) -> Values:
    values = dict(values)
    if "username" in values and values["username"]:
        values["username"] = normalize_username(values["username"])
    for key in ("first_name", "last_name", "email", "city"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    if isinstance(values.get("country"), str):
        values["country"] = values["country"].upper()
    if isinstance(values.get("address_country"), str):
        values["address_country"] = values["address_country"].upper()
    return values


async def _links(session: AsyncSession, user_id: int) -> dict[str, Any]:
    async def ids(column: Any, owner: Any) -> list[int]:
        return sorted((await session.execute(select(column).where(owner == user_id))).scalars())

    return {
        "security_profile_ids": await ids(
            m.user_security_profiles.c.security_profile_id, m.user_security_profiles.c.user_id
        ),
        "queue_ids": await ids(m.user_queues.c.queue_id, m.user_queues.c.user_id),
        "work_stream_ids": await ids(m.user_work_streams.c.work_stream_id, m.user_work_streams.c.user_id),
        "skills": [
            [s, p]
            for s, p in (
                await session.execute(
                    select(m.UserSkill.skill_id, m.UserSkill.proficiency)
                    .where(m.UserSkill.user_id == user_id)
                    .order_by(m.UserSkill.skill_id)
                )
            ).all()
        ],
    }


def _columns(values: Values) -> Values:
    return {column: value for column, value in values.items() if column in BY_COLUMN}


async def _apply(session: AsyncSession, user: m.User, values: Values) -> None:
    for column, value in _columns(values).items():
        setattr(user, column, value)
    await session.flush()
    await _link(session, user, values)


async def _link(session: AsyncSession, user: m.User, values: Values) -> None:
    for key, table, column in (
        ("security_profile_ids", m.user_security_profiles, "security_profile_id"),
        ("queue_ids", m.user_queues, "queue_id"),
        ("work_stream_ids", m.user_work_streams, "work_stream_id"),
    ):
        if key in values:
            await session.execute(delete(table).where(table.c.user_id == user.id))
            if values[key]:
                await session.execute(
                    insert(table), [{"user_id": user.id, column: ref} for ref in dict.fromkeys(values[key])]
                )
    if "skills" in values:
        await session.execute(delete(m.UserSkill).where(m.UserSkill.user_id == user.id))
        if values["skills"]:
            await session.execute(
                insert(m.UserSkill),
                [
                    {"user_id": user.id, "skill_id": s, "proficiency": p, "created_at": utcnow()}
                    for s, p in values["skills"]
                ],
            )


async def _create(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    unit: m.BusinessUnit,
    values: Values,
    password: str | None,
    confirmation: str | None,
    action: str,
    extra: dict[str, Any] | None = None,
) -> m.User:
    checker = _Checker(session, actor, unit, None)
    await checker.check(values, creating=True)
    chosen = await checker.passwords(values, password, confirmation)
    if checker.errors:
        raise Rejected(checker.errors)
    generated = chosen is not None and chosen != password
    user = m.User(
        business_unit_id=unit.id,
        password_hash=await passwords.hash(chosen) if chosen else None,
        password_changed_at=utcnow(),
        must_change_password=generated,
        **_columns(values),
    )
    session.add(user)
    await session.flush()
    await _link(session, user, values)
    after = snapshot(user, await _links(session, user.id))
    audit.record(
        session, actor, action, user, business_unit_id=unit.id, changes=audit.diff({}, after) | (extra or {})
    )
    return user


async def create_user(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    values: Values,
    *,
    password: str | None = None,
    password_confirmation: str | None = None,
    business_unit_id: int | None = None,
    validate_only: bool = False,
) -> Outcome[m.User]:
    async def work() -> m.User:
        unit = await target_unit(session, actor, business_unit_id)
        return await _create(
            session,
            passwords,
            actor,
            unit,
            _normalized(values),
            password,
            password_confirmation,
            "user.create",
        )

    return await run_write(session, work, validate_only=validate_only)


async def copy_user(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    source_id: int,
    values: Values,
    *,
    password: str | None = None,
    password_confirmation: str | None = None,
    validate_only: bool = False,
) -> Outcome[m.User]:
    """A new user with the source's team, security profiles, profile, skills and proficiencies,
    routing, channel and phone settings; identity and credentials come from `values`."""

    async def work() -> m.User:
        source = await visible_user(session, actor, source_id, "sourceUserId")
        unit = await session.get(m.BusinessUnit, source.business_unit_id)
        links = await _links(session, source.id)
        inherited = {f.column: getattr(source, f.column) for f in FIELDS if f.copied}
        inherited |= {key: links[key] for key in COPIED_COLLECTIONS}
        inherited["skills"] = [tuple(s) for s in inherited["skills"]]
        merged = inherited | _normalized(values)
        return await _create(
            session,
            passwords,
            actor,
            unit,
            merged,
            password,
            password_confirmation,
            "user.copy",
            {"copiedFrom": {"before": None, "after": source.id}},
        )

    return await run_write(session, work, validate_only=validate_only)


async def update_user(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    version: int,
    values: Values,
    *,
    validate_only: bool = False,
) -> Outcome[m.User]:
    async def work() -> m.User:
        user = await visible_user(session, actor, user_id)
        if user.version != version:
            raise Rejected(
                [
                    UserError(
                        ["version"],
                        "CONFLICT",
                        f"The user was changed since version {version}; it is now at version "
                        f"{user.version}. Nothing was applied: re-read and retry.",
                    )
                ],
                current=user,
            )
        unit = await session.get(m.BusinessUnit, user.business_unit_id)
        changes = _normalized(values)
        checker = _Checker(session, actor, unit, user)
        await checker.check(changes, creating=False)
        if checker.errors:
            raise Rejected(checker.errors)
        before = snapshot(user, await _links(session, user.id))
        user.updated_at = utcnow()  # one UPDATE, one version, even when only links change
        await _apply(session, user, changes)
        after = snapshot(user, await _links(session, user.id))
        audit.record(
            session, actor, "user.update", user, business_unit_id=unit.id, changes=audit.diff(before, after)
        )
        return user

    return await run_write(session, work, validate_only=validate_only)


def _guard_self_and_master(actor: Actor, user: m.User, verb: str) -> None:
    if user.id == actor.principal.user_id:
        raise Rejected([UserError(["id"], "NOT_ALLOWED", f"You cannot {verb} yourself.")])
    if user.is_master_admin:
        raise Rejected([UserError(["id"], "NOT_ALLOWED", f"The master administrator cannot be {verb}d.")])


async def revoke_credentials(session: AsyncSession, user_id: int, *, keep_access_keys: bool = False) -> int:
    """End every session (and unless kept, deactivate every access key) of a user; returns the
    number of sessions ended."""
    now = utcnow()
    ended = await session.execute(
        update(m.Session)
        .where(m.Session.user_id == user_id, m.Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not keep_access_keys:
        await session.execute(update(m.AccessKey).where(m.AccessKey.user_id == user_id).values(active=False))
    return ended.rowcount or 0


async def set_enabled(
    session: AsyncSession, actor: Actor, user_id: int, enabled: bool, *, validate_only: bool = False
) -> Outcome[m.User]:
    async def work() -> m.User:
        user = await visible_user(session, actor, user_id)
        if not enabled:
            _guard_self_and_master(actor, user, "disable")
        changes: dict[str, Any] = {}
        if user.enabled != enabled:
            changes["enabled"] = {"before": user.enabled, "after": enabled}
            user.enabled = enabled
            user.updated_at = utcnow()
        if not enabled:
            ended = await revoke_credentials(session, user.id)
            changes["sessionsRevoked"] = {"before": None, "after": ended}
        await session.flush()
        audit.record(
            session,
            actor,
            "user.enable" if enabled else "user.disable",
            user,
            business_unit_id=user.business_unit_id,
            changes=changes,
        )
        return user

    return await run_write(session, work, validate_only=validate_only)


async def delete_user(
    session: AsyncSession, actor: Actor, user_id: int, *, validate_only: bool = False
) -> Outcome[int]:
    """Delete a user: their sessions and keys go with them, so they are logged out everywhere;
    the audit trail keeps who they were."""

    async def work() -> int:
        user = await visible_user(session, actor, user_id)
        _guard_self_and_master(actor, user, "delete")
        before = snapshot(user, await _links(session, user.id))
        sessions = (
            await session.execute(
                select(func.count())
                .select_from(m.Session)
                .where(m.Session.user_id == user.id, m.Session.revoked_at.is_(None))
            )
        ).scalar_one()
        audit.record(
            session,
            actor,
            "user.delete",
            user,
            business_unit_id=user.business_unit_id,
            changes=audit.diff(before, {}) | {"sessionsRevoked": {"before": None, "after": sessions}},
        )
        # Sessions, access keys, skills and links go with the row (ON DELETE CASCADE).
        await session.execute(delete(m.User).where(m.User.id == user.id))
        return user_id

    return await run_write(session, work, validate_only=validate_only)


async def assign_profile(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    user_profile_id: int | None,
    *,
    validate_only: bool = False,
) -> Outcome[m.User]:
    """A user has at most one profile: assigning one replaces the one before."""

    async def work() -> m.User:
        user = await visible_user(session, actor, user_id, "userId")
        if user_profile_id is not None:
            profile = await session.get(m.UserProfile, user_profile_id)
            if profile is None or profile.business_unit_id != user.business_unit_id:
                raise Rejected([not_found(["userProfileId"], "user profile")])
        before = user.user_profile_id
        user.user_profile_id = user_profile_id
        user.updated_at = utcnow()
        await session.flush()
        audit.record(
            session,
            actor,
            "user.assignProfile",
            user,
            business_unit_id=user.business_unit_id,
            changes=audit.diff({"user_profile_id": before}, {"user_profile_id": user_profile_id}),
        )
        return user

    return await run_write(session, work, validate_only=validate_only)
