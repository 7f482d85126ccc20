"""Creating, copying, editing, enabling, disabling and deleting users, and assigning their
profile. Every change is checked whole before anything is written, written in one
transaction, and audited in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.enums import Permission
from ccgraph.services import audit, authority, password_policy
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


CHUNK = 5000
REFERENCES = (
    ("team_id", m.Team, "team"),
    ("manager_id", m.User, "user"),
    ("user_profile_id", m.UserProfile, "user profile"),
    ("default_presence_id", m.PresenceStatus, "presence status"),
)
LINKED = {
    "security_profile_ids": (m.SecurityProfile, "security profile"),
    "queue_ids": (m.Queue, "queue"),
    "work_stream_ids": (m.WorkStream, "work stream"),
}
LINK_TABLES = (
    ("security_profile_ids", m.user_security_profiles, "security_profile_id"),
    ("queue_ids", m.user_queues, "queue_id"),
    ("work_stream_ids", m.user_work_streams, "work_stream_id"),
)


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)] or [[]]


class Lookups:
    """What checking a batch of users needs from the database, fetched once for the batch with
    one statement per kind: so one user and ten thousand are checked by the same code."""

    def __init__(self, session: AsyncSession, unit: m.BusinessUnit) -> None:
        self.session, self.unit = session, unit
        self.ids: dict[Any, set[int]] = defaultdict(set)
        self.profiles: dict[int, m.SecurityProfile] = {}
        self.taken: dict[str, int] = {}
        self.held: dict[int, frozenset[Permission]] = {}  # what each user to update holds

    async def prefetch(self, rows: Sequence[Values]) -> None:
        wanted: dict[Any, set[int]] = defaultdict(set)
        names: set[str] = set()
        for values in rows:
            for column, model, _ in REFERENCES:
                if values.get(column) is not None:
                    wanted[model].add(values[column])
            for key, (model, _) in LINKED.items():
                wanted[model].update(x for x in values.get(key) or () if x is not None)
            wanted[m.Skill].update(s for s, _ in values.get("skills") or () if s is not None)
            if values.get("username"):
                names.add(values["username"])
        # a manager is a user the write names: they may not outrank the actor
        self.held.update(await authority.held_by(self.session, wanted[m.User] - self.held.keys()))
        for model, ids in wanted.items():
            for chunk in _chunks(sorted(ids)):
                in_unit = (model.id.in_(chunk), model.business_unit_id == self.unit.id)
                if model is m.SecurityProfile:
                    for row in (await self.session.execute(select(model).where(*in_unit))).scalars():
                        self.profiles[row.id] = row
                        self.ids[model].add(row.id)
                else:
                    self.ids[model].update(
                        (await self.session.execute(select(model.id).where(*in_unit))).scalars()
                    )
        for chunk in _chunks(sorted(names)):
            rows_ = await self.session.execute(
                select(m.User.username, m.User.id).where(m.User.username.in_(chunk))
            )
            self.taken.update(dict(rows_.all()))

    def has(self, model: Any, ref: int | None) -> bool:
        return ref is not None and ref in self.ids[model]


class _Checker:
    """Collects every problem with a user's values; nothing is written while it runs."""

    def __init__(self, session: AsyncSession, actor: Actor, lookups: Lookups) -> None:
        self.session, self.actor, self.lookups, self.unit = session, actor, lookups, lookups.unit

    async def check(self, values: Values, user: m.User | None) -> list[UserError]:
        errors: list[UserError] = self.authority(values, user)

        def fail(field: list[str], code: str, message: str) -> None:
            errors.append(UserError(field, code, message))

        creating = user is None
        if creating:
            for column in REQUIRED_ON_CREATE:
                if not values.get(column):
                    path = BY_COLUMN[column].api_path
                    fail(path, "REQUIRED", f"{path[-1]} is required")
        for column, value in values.items():
            f = BY_COLUMN.get(column)
            if f is None:
                continue
            if column in REQUIRED_ON_CREATE and not creating and not value:
                fail(f.api_path, "REQUIRED", f"{f.api_path[-1]} cannot be emptied")
                continue
            problem = f.check(value) if f.check else None
            if problem:
                fail(f.api_path, "INVALID", f"{f.api_path[-1]} {problem}")
            if f.feature and meaningful(column, value) and not f.feature.applies(self.unit):
                fail(f.api_path, "FEATURE_DISABLED", f"{f.api_path[-1]} {f.feature.refusal()}")
        name = values.get("username")
        owner = self.lookups.taken.get(name) if name else None
        if (
            owner is not None
            and (user is None or owner != user.id)
            and not any(e.field == ["username"] for e in errors)
        ):
            fail(["username"], "TAKEN", f"The username {name!r} is taken.")
        for column, model, what in REFERENCES:
            ref = values.get(column)
            if ref is not None and not self.lookups.has(model, ref):
                fail(BY_COLUMN[column].api_path, "NOT_FOUND", f"No {what} with this ID in the business unit.")
        manager = values.get("manager_id")
        if manager is not None and user is not None and await self._reports_to(manager, user.id):
            fail(["managerId"], "INVALID", "A user cannot be managed by themselves or by a direct report.")
        self._collections(values, creating, fail)
        return errors

    def authority(self, values: Values, user: m.User | None) -> list[UserError]:
        """The authority rule for one row, the same for one user, a bulk row or a file row:
        the user changed holds nothing the actor lacks, the master administrator's identity
        is theirs alone, giving skills needs SKILLS_EDIT, and what is granted the actor holds
        (security profiles: see `_collections`)."""
        actor = self.actor
        found: list[UserError | None] = []
        if user is not None:
            found.append(authority.outranked(actor, user.id, self.lookups.held[user.id], ["id"]))
            touched = sorted(authority.MASTER_ONLY & values.keys())
            if touched:
                path = COLLECTIONS.get(touched[0]) or BY_COLUMN[touched[0]].api_path
                found.append(
                    authority.master_protected(actor, user, path, "username, email or security profiles")
                )
        manager = values.get("manager_id")
        if manager is not None and self.lookups.has(m.User, manager):
            found.append(authority.outranked(actor, manager, self.lookups.held[manager], ["managerId"]))
        if "skills" in values and (user is not None or values["skills"]):
            found.append(authority.required(actor, Permission.SKILLS_EDIT, ["skills"], "Giving skills"))
        return [e for e in found if e is not None]

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

    def _collections(self, values: Values, creating: bool, fail: Any) -> None:
        profile_ids = values.get("security_profile_ids")
        if (creating and not profile_ids) or (profile_ids is not None and not profile_ids):
            fail(
                COLLECTIONS["security_profile_ids"], "REQUIRED", "A user needs at least one security profile."
            )
        for key, (model, what) in LINKED.items():
            for index, ref in enumerate(values.get(key) or ()):
                path = [*COLLECTIONS[key], str(index)]
                if not self.lookups.has(model, ref):
                    fail(path, "NOT_FOUND", f"No {what} with this ID in the business unit.")
                elif model is m.SecurityProfile:
                    grant = authority.not_grantable(self.actor, self.lookups.profiles[ref].permissions, path)
                    if grant is not None:
                        fail(grant.field, grant.code, grant.message)
        seen: set[int] = set()
        for index, (skill_id, proficiency) in enumerate(values.get("skills") or ()):
            path = ["skills", str(index)]
            if not self.lookups.has(m.Skill, skill_id):
                fail([*path, "skillId"], "NOT_FOUND", "No skill with this ID in the business unit.")
            if skill_id in seen:
                fail([*path, "skillId"], "DUPLICATE", "This skill is listed twice.")
            seen.add(skill_id)
            if not PROFICIENCY_MOST <= proficiency <= PROFICIENCY_LEAST:
                fail(
                    [*path, "proficiency"],
                    "INVALID",
                    f"proficiency must be between {PROFICIENCY_MOST} (most) and {PROFICIENCY_LEAST}",
                )

    def password(self, values: Values, draft: Draft) -> tuple[str | None, list[UserError]]:
        """The password to set: the given one if it meets the policy, or a generated one when
        the security profiles generate random passwords (then none may be given)."""
        if draft.without_password:
            return None, []
        profiles = [
            self.lookups.profiles[i]
            for i in values.get("security_profile_ids") or ()
            if i in self.lookups.profiles
        ]
        policy = password_policy.policy_for(profiles)
        password, confirmation = draft.password, draft.password_confirmation
        if policy.generate_random:
            if password or confirmation:
                return None, [
                    UserError(
                        ["password"],
                        "PASSWORD_NOT_ALLOWED",
                        "The security profile generates random passwords: leave password empty.",
                    )
                ]
            return password_policy.generate(policy), []
        if not password:
            return None, [UserError(["password"], "REQUIRED", "password is required")]
        errors = []
        if password != confirmation:
            errors.append(
                UserError(["passwordConfirmation"], "PASSWORD_MISMATCH", "The passwords do not match.")
            )
        errors += [
            UserError(["password"], "PASSWORD_POLICY", f"password {p}")
            for p in password_policy.problems(password, policy)
        ]
        return password, errors


@dataclass(slots=True)
class Draft:
    """One user to create: their values and, unless created without one, a password."""

    values: Values
    password: str | None = None
    password_confirmation: str | None = None
    without_password: bool = False  # bulk files: a password comes later, by reset


@dataclass(slots=True)
class Change:
    """One user to update, found by id or (in files) by username; `version`, when given, must
    be the current one."""

    values: Values
    user_id: int | None = None
    username: str | None = None
    version: int | None = None


@dataclass(slots=True)
class RowResult:
    index: int
    user: m.User | None = None
    errors: list[UserError] = field(default_factory=list)
    password: str | None = None
    changed: bool = True  # False: an update that asked for nothing new, so nothing was written


def _normalized(values: Values) -> Values:
    values = dict(values)
    if values.get("username"):
        values["username"] = normalize_username(values["username"])
    for key in ("first_name", "last_name", "email", "city"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    for key in ("country", "address_country"):
        if isinstance(values.get(key), str):
            values[key] = values[key].upper()
    return values


def _columns(values: Values) -> Values:
    return {column: value for column, value in values.items() if column in BY_COLUMN}


def _links_of(values: Values) -> dict[str, Any]:
    return {
        "security_profile_ids": sorted(values.get("security_profile_ids") or []),
        "queue_ids": sorted(set(values.get("queue_ids") or [])),
        "work_stream_ids": sorted(set(values.get("work_stream_ids") or [])),
        "skills": sorted([s, p] for s, p in values.get("skills") or []),
    }


async def current_links(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Every user's linked ids, for many users with one statement per link table."""
    links: dict[int, dict[str, Any]] = {
        uid: {"security_profile_ids": [], "queue_ids": [], "work_stream_ids": [], "skills": []}
        for uid in user_ids
    }
    for chunk in _chunks(list(user_ids)):
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
            for chunk in _chunks([u.id for u, _ in touched]):
                await session.execute(delete(table).where(table.c.user_id.in_(chunk)))
        rows = [{"user_id": u.id, column: ref} for u, v in touched for ref in dict.fromkeys(v[key] or [])]
        if rows:
            await session.execute(insert(table), rows)
    touched = [(u, v) for u, v in pairs if "skills" in v]
    if touched:
        if replace:
            for chunk in _chunks([u.id for u, _ in touched]):
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


async def check_rows(
    session: AsyncSession, actor: Actor, unit: m.BusinessUnit, drafts: Sequence[Draft]
) -> tuple[list[Values], list[RowResult]]:
    """Each new user's values, checked whole with the batch's look-ups made once, and the
    password chosen for each (given, or generated under a "generate random passwords"
    profile). Reads only."""
    rows = [_normalized(d.values) for d in drafts]
    lookups = Lookups(session, unit)
    await lookups.prefetch(rows)
    checker = _Checker(session, actor, lookups)
    results, in_batch = [], set()
    for index, (draft, values) in enumerate(zip(drafts, rows, strict=True)):
        errors = await checker.check(values, None)
        name = values.get("username")
        if name and name in in_batch:
            errors.append(UserError(["username"], "DUPLICATE", f"The username {name!r} is given twice."))
        in_batch.add(name)
        chosen, problems = checker.password(values, draft)
        results.append(RowResult(index, errors=errors + problems, password=chosen))
    return rows, results


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
    validate-only never hashes). Atomic: one bad row raises Rejected before anything is
    written; otherwise the good rows are written and the bad ones reported."""
    rows, results = checked if checked is not None else await check_rows(session, actor, unit, drafts)
    if atomic and any(r.errors for r in results):
        raise _refuse_rows(results)
    good = [(r, rows[r.index], drafts[r.index]) for r in results if not r.errors]
    now = utcnow()
    new = [
        {
            "business_unit_id": unit.id,
            "password_hash": (hashed or {}).get(result.password) if result.password else None,
            "password_changed_at": now if result.password else None,
            "must_change_password": result.password is not None and result.password != draft.password,
            **_columns(values),
        }
        for result, values, draft in good
    ]
    if new:  # multi-row INSERT ... RETURNING, not a unit-of-work flush of each object
        made = {u.username: u for u in (await session.scalars(insert(m.User).returning(m.User), new)).all()}
        for result, values, _ in good:  # usernames are unique: they pair rows with users
            result.user = made[values["username"]]
    await _write_links(session, [(r.user, v) for r, v, _ in good], replace=False)
    await audit.record_many(
        session,
        actor,
        action,
        [
            (result.user, unit.id, audit.given(_columns(values) | _links_of(values)) | (audit_extra or {}))
            for result, values, _ in good
        ],
    )
    return results


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
) -> Outcome[list[RowResult]]:
    """Check, then hash, then write: the rows are checked and their passwords hashed (in
    threads) before the write transaction, so a batch holds the database's write lock only for
    its inserts; a refused atomic batch and a validate-only one never hash."""
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
            refused = _refuse_rows(results)
            return Outcome(refused.result, refused.errors)
        chosen = sorted({r.password for r in results if r.password and not r.errors})
        hashed = dict(zip(chosen, await passwords.hash_many(chosen), strict=True))

    async def work() -> list[RowResult]:
        unit = await target_unit(session, actor, business_unit_id)
        return await create_rows(
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

    return await run_write(session, work, validate_only=validate_only)


def _single(outcome: Outcome[list[RowResult]]) -> Outcome[m.User]:
    if outcome.value is None:
        return Outcome(None, outcome.errors)
    [row] = outcome.value
    return Outcome(row.user if not row.errors else None, row.errors)


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
    """Partial updates of many users inside the caller's write transaction. A row whose
    `version` is stale is a CONFLICT and none of it is applied; a row that changes nothing is
    not written (no new version, no audit event)."""
    rows = [_normalized(c.values) for c in changes]
    ids = [c.user_id for c in changes if c.user_id is not None]
    names = [normalize_username(c.username) for c in changes if c.username]
    found: dict[Any, m.User] = {}
    for chunk in _chunks(ids):
        for u in (await session.execute(select(m.User).where(m.User.id.in_(chunk)))).scalars():
            found[u.id] = u
    for chunk in _chunks(names):
        for u in (await session.execute(select(m.User).where(m.User.username.in_(chunk)))).scalars():
            found[u.username] = u
    results: list[RowResult] = []
    targets: list[m.User | None] = []
    for index, change in enumerate(changes):
        key = change.user_id if change.user_id is not None else normalize_username(change.username or "")
        user = found.get(key)
        if user is None or not can_see(actor.principal, user.business_unit_id):
            path = ["id"] if change.user_id is not None else ["username"]
            results.append(RowResult(index, errors=[not_found(path, "user")]))
            targets.append(None)
            continue
        if change.version is not None and user.version != change.version:
            results.append(
                RowResult(
                    index,
                    user=user,
                    errors=[
                        UserError(
                            ["version"],
                            "CONFLICT",
                            f"The user was changed since version {change.version}; "
                            f"it is now at version {user.version}. "
                            "Nothing was applied: re-read and retry.",
                        )
                    ],
                )
            )
            targets.append(None)
            continue
        results.append(RowResult(index, user=user))
        targets.append(user)
    units = {u.business_unit_id for u in targets if u is not None}
    target_ids = [u.id for u in targets if u is not None]
    before_links = await current_links(session, target_ids)
    held = await authority.held_by(session, target_ids)
    checkers = {}
    for unit_id in units:
        lookups = Lookups(session, await session.get(m.BusinessUnit, unit_id))
        lookups.held = held
        await lookups.prefetch(
            [rows[i] for i, u in enumerate(targets) if u is not None and u.business_unit_id == unit_id]
        )
        checkers[unit_id] = _Checker(session, actor, lookups)
    seen_names: dict[str, int] = {}
    for result, user, values in zip(results, targets, rows, strict=True):
        if user is None:
            continue
        # only what changes is checked: a value kept as it is stays acceptable
        for column in [c for c in values if c in BY_COLUMN and values[c] == getattr(user, c)]:
            del values[column]
        links = _links_of(values)
        for key in [k for k in COLLECTIONS if k in values and links[k] == before_links[user.id][k]]:
            del values[key]
        result.errors += await checkers[user.business_unit_id].check(values, user)
        name = values.get("username")
        if name:
            if name in seen_names and seen_names[name] != user.id:
                result.errors.append(
                    UserError(["username"], "DUPLICATE", f"The username {name!r} is given twice.")
                )
            seen_names[name] = user.id
    if atomic and any(r.errors for r in results):
        raise _refuse_rows(results)
    good = [(r.user, rows[r.index]) for r in results if not r.errors]
    befores = {u.id: snapshot(u, before_links[u.id]) for u, _ in good}
    wanted = {
        u.id: befores[u.id] | _columns(v) | {k: x for k, x in _links_of(v).items() if k in v} for u, v in good
    }
    for result in results:
        if not result.errors and not audit.diff(befores[result.user.id], wanted[result.user.id]):
            result.changed = False
    good = [(u, v) for u, v in good if audit.diff(befores[u.id], wanted[u.id])]
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
        after = snapshot(
            user, before_links[user.id] | {k: v for k, v in _links_of(values).items() if k in values}
        )
        audit.record(
            session,
            actor,
            "user.update",
            user,
            business_unit_id=user.business_unit_id,
            changes=audit.diff(befores[user.id], after),
        )
    await authority.keep_administered(session, administered, ["securityProfileIds"])
    return results


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
    return ended.rowcount or 0


async def set_enabled(
    session: AsyncSession, actor: Actor, user_id: int, enabled: bool, *, validate_only: bool = False
) -> Outcome[m.User]:
    async def work() -> m.User:
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

    return await run_write(session, work, validate_only=validate_only)


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
