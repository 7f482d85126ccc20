"""Creating, copying, editing, enabling, disabling and deleting users, and assigning their
profile. Every change is checked whole before anything is written, written in one
transaction, and audited in it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.engine import refresh_statistics
from ccgraph.services import audit, authority, mail
from ccgraph.services.auth import normalize_username
from ccgraph.services.errors import UserError, not_found
from ccgraph.services.scope import can_see
from ccgraph.services.users.checks import (
    Draft,
    RowResult,
    Values,
    check_changes,
    check_rows,
    chunks,
    links_of,
    normalized,
)
from ccgraph.services.users.fields import BY_COLUMN, COPIED_COLLECTIONS, FIELDS, snapshot
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write


async def target_unit(session: AsyncSession, actor: Actor, business_unit_id: int | None) -> m.BusinessUnit:
    """The unit a new object goes into: the caller's own, or one they name and may see."""
    unit_id = business_unit_id or actor.principal.business_unit_id
    unit = await session.get(m.BusinessUnit, unit_id)
    if unit is None or not can_see(actor.principal, unit_id):
        raise Rejected([not_found(["businessUnitId"], "business unit")])
    return unit


LINK_TABLES = (
    ("security_profile_ids", m.user_security_profiles, "security_profile_id"),
    ("queue_ids", m.user_queues, "queue_id"),
    ("work_stream_ids", m.user_work_streams, "work_stream_id"),
)


@dataclass(slots=True)
class Change:
    """One user to update, found by id or (in files) by username; `version`, when given, must
    be the current one."""

    values: Values
    user_id: int | None = None
    username: str | None = None
    version: int | None = None


def _columns(values: Values) -> Values:
    return {column: value for column, value in values.items() if column in BY_COLUMN}


async def current_links(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Every user's linked ids, for many users with one statement per link table."""
    links: dict[int, dict[str, Any]] = {
        uid: {"security_profile_ids": [], "queue_ids": [], "work_stream_ids": [], "skills": []}
        for uid in user_ids
    }
    for chunk in chunks(list(user_ids)):
        for key, table, column in LINK_TABLES:
            for uid, ref in (
                await session.execute(
                    select(table.c.user_id, table.c[column]).where(table.c.user_id.in_(chunk))
                )
            ).all():
                links[uid][key].append(ref)
        rows = await session.execute(
            select(m.UserSkill.user_id, m.UserSkill.skill_id, m.UserSkill.proficiency).where(
                m.UserSkill.user_id.in_(chunk)
            )
        )
        for uid, skill, proficiency in rows.all():
            links[uid]["skills"].append([skill, proficiency])
    for entry in links.values():
        for key in entry:
            entry[key].sort()
    return links


async def _write_links(
    session: AsyncSession, pairs: Sequence[tuple[m.User, Values]], *, replace: bool
) -> None:
    """Set the links of many users: bulk deletes and inserts, one per link table."""
    now = utcnow()
    for key, table, column in LINK_TABLES:
        touched = [(u, v) for u, v in pairs if key in v]
        if not touched:
            continue
        if replace:
            for chunk in chunks([u.id for u, _ in touched]):
                await session.execute(delete(table).where(table.c.user_id.in_(chunk)))
        rows = [{"user_id": u.id, column: ref} for u, v in touched for ref in dict.fromkeys(v[key] or [])]
        if rows:
            await session.execute(insert(table), rows)
    touched = [(u, v) for u, v in pairs if "skills" in v]
    if touched:
        if replace:
            for chunk in chunks([u.id for u, _ in touched]):
                await session.execute(delete(m.UserSkill).where(m.UserSkill.user_id.in_(chunk)))
        rows = [
            {"user_id": u.id, "skill_id": s, "proficiency": p, "created_at": now}
            for u, v in touched
            for s, p in v["skills"] or []
        ]
        if rows:
            await session.execute(insert(m.UserSkill), rows)


def _refuse_rows(results: list[RowResult]) -> Rejected:
    """All or nothing: one bad row, nothing written; every row's problems reported."""
    for result in results:
        result.user = None  # nothing was written, and what was read is rolled back
    return Rejected([e for r in results for e in r.errors], result=results)


async def create_rows(
    session: AsyncSession,
    actor: Actor,
    unit: m.BusinessUnit,
    drafts: Sequence[Draft],
    *,
    checked: tuple[list[Values], list[RowResult]] | None = None,
    hashed: dict[str, str] | None = None,
    atomic: bool = True,
    action: str = "user.create",
    audit_extra: dict[str, Any] | None = None,
) -> list[RowResult]:
    """Create users inside the caller's write transaction, checked as `check_rows` checks
    them, or as it already did before the transaction (`checked`: then the write holds the
    database only for its inserts; what may change in between, a username taken or an object
    deleted, the database's constraints refuse as a CONFLICT). `hashed` maps each chosen
    password to its hash, made before the write (a password without one is stored as none:
    validate-only never hashes). A generated password is mailed to its user in the same
    transaction, once it is stored (so a dry run mails nothing). Atomic: one bad row raises
    Rejected before anything is written; otherwise the good rows are written and the bad ones
    reported."""
    rows, results = checked if checked is not None else await check_rows(session, actor, unit, drafts)
    if atomic and any(r.errors for r in results):
        raise _refuse_rows(results)
    good = [(r, rows[r.index]) for r in results if not r.errors]
    hashed = hashed or {}
    now = utcnow()
    new = [
        {
            "business_unit_id": unit.id,
            "password_hash": hashed.get(result.password) if result.password else None,
            "password_changed_at": now if result.password else None,
            "must_change_password": result.password_generated,
            **_columns(values),
        }
        for result, values in good
    ]
    if new:  # multi-row INSERT ... RETURNING, not a unit-of-work flush of each object
        made = {u.username: u for u in (await session.scalars(insert(m.User).returning(m.User), new)).all()}
    written: list[tuple[m.User, Values]] = []
    for result, values in good:  # usernames are unique: they pair rows with users
        result.user = made[values["username"]]
        written.append((result.user, values))
    await _write_links(session, written, replace=False)
    await mail.enqueue_many(session, _password_mails([r for r, _ in good], hashed))
    generated = {"passwordGenerated": {"before": None, "after": True}}
    await audit.record_many(
        session,
        actor,
        action,
        [
            (
                result.user,
                unit.id,
                audit.given(_columns(values) | links_of(values))
                | (audit_extra or {})
                | (generated if result.password_generated else {}),
            )
            for result, values in good
            if result.user is not None
        ],
    )
    return results


def _password_mails(results: Sequence[RowResult], hashed: dict[str, str]) -> list[mail.Mail]:
    """The mails of the generated passwords that were stored (a dry run stores none)."""
    return [
        mail.password_mail(r.user, r.password, new_account=True)
        for r in results
        if r.password_generated and r.user is not None and r.password is not None and r.password in hashed
    ]


async def hash_chosen(passwords: Passwords, results: Sequence[RowResult]) -> dict[str, str]:
    """The hash of each password chosen for a new user to be written, made in a thread before
    the write transaction: one argon2 hash per user (the bulk cost of a "generate random
    passwords" profile, whose passwords all differ)."""
    chosen = sorted({r.password for r in results if r.password and not r.errors})
    return dict(zip(chosen, await passwords.hash_many(chosen), strict=True))


async def create_users(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    drafts: Sequence[Draft],
    *,
    business_unit_id: int | None = None,
    atomic: bool = True,
    validate_only: bool = False,
    action: str = "user.create",
    audit_extra: dict[str, Any] | None = None,
    then: Callable[[list[RowResult]], Awaitable[Any]] | None = None,
) -> Outcome[list[RowResult]]:
    """Check, then hash, then write: the rows are checked and their passwords hashed (in
    threads) before the write transaction, so a batch holds the database's write lock only for
    its inserts; a refused atomic batch and a validate-only one never hash. `then` goes on in
    the same transaction once the users are written (SCIM disables a user created inactive):
    if it raises Rejected, no user is created."""
    hashed: dict[str, str] = {}
    checked = None
    if not validate_only:
        try:
            unit = await target_unit(session, actor, business_unit_id)
        except Rejected as refused:
            await session.rollback()
            return Outcome(None, refused.errors)
        checked = await check_rows(session, actor, unit, drafts)
        await session.rollback()  # the reads end here: no snapshot is held while hashing
        results = checked[1]
        if atomic and any(r.errors for r in results):
            rejected = _refuse_rows(results)
            return Outcome(rejected.result, rejected.errors)
        hashed = await hash_chosen(passwords, results)

    async def work() -> list[RowResult]:
        unit = await target_unit(session, actor, business_unit_id)
        results = await create_rows(
            session,
            actor,
            unit,
            drafts,
            checked=checked,
            hashed=hashed,
            atomic=atomic,
            action=action,
            audit_extra=audit_extra,
        )
        if then is not None:
            await then(results)
        return results

    outcome = await run_write(session, work, validate_only=validate_only)
    if not validate_only and outcome.value is not None:
        await refresh_statistics(session, rows=len(drafts))  # a big batch: SQLite's planner
    return outcome


def _single(outcome: Outcome[list[RowResult]]) -> Outcome[m.User]:
    if outcome.value is None:
        return Outcome(None, outcome.errors)
    [row] = outcome.value
    return Outcome(row.user if not row.errors else None, row.errors, outcome.changes)


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
    draft = Draft(values, password, password_confirmation)
    return _single(
        await create_users(
            session, passwords, actor, [draft], business_unit_id=business_unit_id, validate_only=validate_only
        )
    )


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
    try:  # copying from a user is acting on them: they may not outrank the actor
        source = await authority.act_on(session, actor, source_id, "sourceUserId")
    except Rejected as refused:
        await session.rollback()
        return Outcome(None, refused.errors)
    links = (await current_links(session, [source.id]))[source.id]
    inherited = {f.column: getattr(source, f.column) for f in FIELDS if f.copied}
    inherited |= {key: links[key] for key in COPIED_COLLECTIONS}
    inherited["skills"] = [tuple(s) for s in inherited["skills"]]
    draft = Draft(inherited | values, password, password_confirmation)
    return _single(
        await create_users(
            session,
            passwords,
            actor,
            [draft],
            business_unit_id=source.business_unit_id,
            validate_only=validate_only,
            action="user.copy",
            audit_extra={"copiedFrom": {"before": None, "after": source.id}},
        )
    )


async def update_rows(
    session: AsyncSession, actor: Actor, changes: Sequence[Change], *, atomic: bool = True
) -> list[RowResult]:
    """Partial updates of many users inside the caller's write transaction: load, check, apply.
    A row whose `version` is stale is a CONFLICT and none of it is applied; a row that changes
    nothing is not written (no new version, no audit event)."""
    rows = [normalized(c.values) for c in changes]
    results, links = await _load(session, actor, changes)
    await check_changes(session, actor, results, rows, links)
    if atomic and any(r.errors for r in results):
        raise _refuse_rows(results)
    await _apply(session, actor, results, rows, links)
    return results


async def _load(
    session: AsyncSession, actor: Actor, changes: Sequence[Change]
) -> tuple[list[RowResult], dict[int, dict[str, Any]]]:
    """Each change's user (a row's result, with an error where it is not found or its version
    is stale) and the current links of the users found."""
    found = await _users_named(session, changes)
    results = [_target(actor, index, change, found) for index, change in enumerate(changes)]
    links = await current_links(session, [r.user.id for r in results if r.user is not None and not r.errors])
    return results, links


async def _users_named(session: AsyncSession, changes: Sequence[Change]) -> dict[Any, m.User]:
    """The users the changes name, by id and by username."""
    ids = [c.user_id for c in changes if c.user_id is not None]
    names = [normalize_username(c.username) for c in changes if c.username]
    found: dict[Any, m.User] = {}
    for chunk in chunks(ids):
        for u in (await session.execute(select(m.User).where(m.User.id.in_(chunk)))).scalars():
            found[u.id] = u
    for chunk in chunks(names):
        for u in (await session.execute(select(m.User).where(m.User.username.in_(chunk)))).scalars():
            found[u.username] = u
    return found


def _target(actor: Actor, index: int, change: Change, found: dict[Any, m.User]) -> RowResult:
    """The row's user, unless the actor cannot see it or the change was made on a stale version."""
    key = change.user_id if change.user_id is not None else normalize_username(change.username or "")
    user = found.get(key)
    if user is None or not can_see(actor.principal, user.business_unit_id):
        path = ["id"] if change.user_id is not None else ["username"]
        return RowResult(index, errors=[not_found(path, "user")])
    if change.version is not None and user.version != change.version:
        stale = UserError(
            ["version"],
            "CONFLICT",
            f"The user was changed since version {change.version}; "
            f"it is now at version {user.version}. "
            "Nothing was applied: re-read and retry.",
        )
        return RowResult(index, user=user, errors=[stale])
    return RowResult(index, user=user)


async def _apply(
    session: AsyncSession,
    actor: Actor,
    results: list[RowResult],
    rows: Sequence[Values],
    links: dict[int, dict[str, Any]],
) -> None:
    """Write the checked rows that change something, one UPDATE and one audit event each."""
    checked = _checked(results, rows)
    befores = {user.id: snapshot(user, links[user.id]) for _, user, _ in checked}
    good = _changing(checked, befores)
    regranted = {u.business_unit_id for u, v in good if "security_profile_ids" in v}
    administered = await authority.administered(session, regranted) if regranted else {}
    now = utcnow()
    for user, values in good:
        for column, value in _columns(values).items():
            setattr(user, column, value)
        user.updated_at = now  # one UPDATE, one version, even when only links change
    await session.flush()
    await _write_links(session, good, replace=True)
    for user, values in good:
        after = snapshot(user, links[user.id] | _given_links(values))
        audit.record(
            session,
            actor,
            "user.update",
            user,
            business_unit_id=user.business_unit_id,
            changes=audit.diff(befores[user.id], after),
        )
    await authority.keep_administered(session, administered, ["securityProfileIds"])


def _checked(results: list[RowResult], rows: Sequence[Values]) -> list[tuple[RowResult, m.User, Values]]:
    """The rows that passed their checks, each with its user (a row without errors has one)."""
    return [(r, r.user, rows[r.index]) for r in results if not r.errors and r.user is not None]


def _changing(
    checked: list[tuple[RowResult, m.User, Values]], befores: dict[int, dict[str, Any]]
) -> list[tuple[m.User, Values]]:
    """The checked rows that change something; the others are marked unchanged."""
    wanted = {u.id: befores[u.id] | _columns(v) | _given_links(v) for _, u, v in checked}
    changing = []
    for result, user, values in checked:
        if audit.diff(befores[user.id], wanted[user.id]):
            changing.append((user, values))
        else:
            result.changed = False
    return changing


def _given_links(values: Values) -> dict[str, Any]:
    """The collections `values` sets, each as `links_of` writes it."""
    return {k: x for k, x in links_of(values).items() if k in values}


async def update_users(
    session: AsyncSession,
    actor: Actor,
    changes: Sequence[Change],
    *,
    atomic: bool = True,
    validate_only: bool = False,
) -> Outcome[list[RowResult]]:
    return await run_write(
        session, lambda: update_rows(session, actor, changes, atomic=atomic), validate_only=validate_only
    )


async def update_user(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    version: int,
    values: Values,
    *,
    validate_only: bool = False,
) -> Outcome[m.User]:
    outcome = _single(
        await update_users(
            session, actor, [Change(values, user_id=user_id, version=version)], validate_only=validate_only
        )
    )
    if any(e.code == "CONFLICT" for e in outcome.errors):
        # show the caller the user as it is now, with its current version
        return Outcome(await session.get(m.User, user_id, populate_existing=True), outcome.errors)
    return outcome


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
    return cast(CursorResult[Any], ended).rowcount or 0  # an UPDATE's result is a cursor's


async def enable_user(session: AsyncSession, actor: Actor, user_id: int, enabled: bool) -> m.User:
    """Enable or disable a user inside the caller's write transaction (a refusal raises
    Rejected): disabling ends their sessions and deactivates their access keys."""
    user = await authority.act_on(session, actor, user_id, master_only="enabled state")
    if not enabled:
        _guard_self_and_master(actor, user, "disable")
    administered = await authority.administered(session, [user.business_unit_id])
    changes: dict[str, Any] = {}
    if user.enabled != enabled:
        changes["enabled"] = {"before": user.enabled, "after": enabled}
        user.enabled = enabled
        user.updated_at = utcnow()
    if not enabled:
        ended = await revoke_credentials(session, user.id)
        changes["sessionsRevoked"] = {"before": None, "after": ended}
        await authority.keep_administered(session, administered, ["id"])
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


async def set_enabled(
    session: AsyncSession, actor: Actor, user_id: int, enabled: bool, *, validate_only: bool = False
) -> Outcome[m.User]:
    return await run_write(
        session, lambda: enable_user(session, actor, user_id, enabled), validate_only=validate_only
    )


async def delete_user(
    session: AsyncSession, actor: Actor, user_id: int, *, validate_only: bool = False
) -> Outcome[int]:
    """Delete a user: their sessions and keys go with them, so they are logged out everywhere;
    the audit trail keeps who they were."""

    async def work() -> int:
        user = await authority.act_on(session, actor, user_id)
        _guard_self_and_master(actor, user, "delete")
        administered = await authority.administered(session, [user.business_unit_id])
        before = snapshot(user, (await current_links(session, [user.id]))[user.id])
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
        await authority.keep_administered(session, administered, ["id"])
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
        user = await authority.act_on(session, actor, user_id, "userId")
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
