"""The checks of user rows: each row's values checked whole (fields, references, collections,
authority, password) with the look-ups of a batch made once, for new users and for changes.
Reads only: nothing is written while a row is checked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.enums import Permission
from ccgraph.services import authority, password_policy
from ccgraph.services.auth import normalize_username
from ccgraph.services.errors import UserError
from ccgraph.services.users.fields import BY_COLUMN, COLLECTIONS, REQUIRED_ON_CREATE, meaningful
from ccgraph.services.writes import Actor

# `values` maps user columns (see fields.FIELDS) and the collection keys
# (security_profile_ids, queue_ids, work_stream_ids, skills = [(skill_id, proficiency)])
# to what the caller gave; a key that is absent is left as it is.
Values = dict[str, Any]


@dataclass(slots=True)
class Draft:
    """One user to create: their values and, unless created without one, a password."""

    values: Values
    password: str | None = None
    password_confirmation: str | None = None
    # Bulk files carry no password: under a "generate random passwords" profile one is
    # generated as for anyone; otherwise the user has none until it is reset.
    without_password: bool = False


@dataclass(slots=True)
class RowResult:
    """One row's outcome: its problems, the password chosen for it, and once written its user."""

    index: int
    user: m.User | None = None
    errors: list[UserError] = field(default_factory=list)
    password: str | None = None
    password_generated: bool = False  # mailed to the user once it is stored; they must change it
    new: bool = False  # a user to create (not a change)
    changed: bool = True  # False: an update that asked for nothing new, so nothing was written

    @property
    def password_reset_needed(self) -> bool:
        """A user created without a password: nobody can sign in as them until it is reset."""
        return self.new and self.user is not None and not self.errors and self.password is None


def normalized(values: Values) -> Values:
    """A copy of `values` as they are checked and stored: the username normalized, names
    trimmed, country codes in capitals."""
    values = dict(values)
    if values.get("username"):
        values["username"] = normalize_username(values["username"])
    for key in ("first_name", "last_name", "email", "city"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    for key in ("country", "address_country"):
        if isinstance(values.get(key), str):
            values[key] = values[key].upper()
    if values.get("external_id") == "":
        values["external_id"] = None  # no id: it would collide with every other blank one
    return values


def links_of(values: Values) -> dict[str, Any]:
    """The collections of `values`, sorted (queues and work streams without repeats), as they
    are compared and audited."""
    return {
        "security_profile_ids": sorted(values.get("security_profile_ids") or []),
        "queue_ids": sorted(set(values.get("queue_ids") or [])),
        "work_stream_ids": sorted(set(values.get("work_stream_ids") or [])),
        "skills": sorted([s, p] for s, p in values.get("skills") or []),
    }


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


def chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    """`items` in slices small enough for one IN (...) each; one empty slice when none."""
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)] or [[]]


def _valid(column: str, value: Any) -> bool:
    check = BY_COLUMN[column].check
    return check is None or check(value) is None


class Lookups:
    """What checking a batch of users needs from the database, fetched once for the batch with
    one statement per kind: so one user and ten thousand are checked by the same code."""

    def __init__(self, session: AsyncSession, unit: m.BusinessUnit) -> None:
        self.session, self.unit = session, unit
        self.ids: dict[Any, set[int]] = defaultdict(set)
        self.profiles: dict[int, m.SecurityProfile] = {}
        self.taken: dict[str, int] = {}
        self.external_ids: dict[str, int] = {}  # the unit's users' identity provider ids
        self.held: dict[int, frozenset[Permission]] = {}  # what each user to update holds

    async def prefetch(self, rows: Sequence[Values]) -> None:
        wanted: dict[Any, set[int]] = defaultdict(set)
        names: set[str] = set()
        # only ids that pass their check are looked up (a NUL would fail the query itself)
        external_ids = {x for values in rows if (x := values.get("external_id")) and _valid("external_id", x)}
        for values in rows:
            for column, model, _ in REFERENCES:
                if values.get(column) is not None:
                    wanted[model].add(values[column])
            for key, (linked, _) in LINKED.items():
                wanted[linked].update(x for x in values.get(key) or () if x is not None)
            wanted[m.Skill].update(s for s, _ in values.get("skills") or () if s is not None)
            if values.get("username"):
                names.add(values["username"])
        # a manager is a user the write names: they may not outrank the actor
        self.held.update(await authority.held_by(self.session, wanted[m.User] - self.held.keys()))
        for model, ids in wanted.items():
            for chunk in chunks(sorted(ids)):
                in_unit = (model.id.in_(chunk), model.business_unit_id == self.unit.id)
                if model is m.SecurityProfile:
                    for row in (await self.session.execute(select(model).where(*in_unit))).scalars():
                        self.profiles[row.id] = row
                        self.ids[model].add(row.id)
                else:
                    self.ids[model].update(
                        (await self.session.execute(select(model.id).where(*in_unit))).scalars()
                    )
        for chunk in chunks(sorted(names)):
            rows_ = await self.session.execute(
                select(m.User.username, m.User.id).where(m.User.username.in_(chunk))
            )
            self.taken.update(dict(rows_.all()))
        for chunk in chunks(sorted(external_ids)):
            rows_ = await self.session.execute(
                select(m.User.external_id, m.User.id).where(
                    m.User.business_unit_id == self.unit.id, m.User.external_id.in_(chunk)
                )
            )
            self.external_ids.update(dict(rows_.all()))

    def has(self, model: Any, ref: int | None) -> bool:
        return ref is not None and ref in self.ids[model]


class Checker:
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
        external_id = values.get("external_id")
        holder = self.lookups.external_ids.get(external_id) if external_id else None
        if holder is not None and (user is None or holder != user.id):
            fail(["externalId"], "TAKEN", "Another user of the business unit has this externalId.")
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

    def password(self, values: Values, draft: Draft, result: RowResult) -> None:
        """Choose the new user's password (the one rule of every path that creates users):
        under a "generate random passwords" profile a generated one (none may be given),
        mailed once it is stored; otherwise the given one if it meets the policy, or, for a
        file's row, none (the user needs a reset)."""
        profiles = [
            self.lookups.profiles[i]
            for i in values.get("security_profile_ids") or ()
            if i in self.lookups.profiles
        ]
        policy = password_policy.policy_for(profiles)
        password, confirmation = draft.password, draft.password_confirmation
        if policy.generate_random:
            if password or confirmation:
                result.errors.append(
                    UserError(
                        ["password"],
                        "PASSWORD_NOT_ALLOWED",
                        "The security profile generates random passwords: leave password empty.",
                    )
                )
            else:
                result.password, result.password_generated = password_policy.generate(policy), True
            return
        if draft.without_password:
            return
        if not password:
            result.errors.append(UserError(["password"], "REQUIRED", "password is required"))
            return
        if password != confirmation:
            result.errors.append(
                UserError(["passwordConfirmation"], "PASSWORD_MISMATCH", "The passwords do not match.")
            )
        result.errors += [
            UserError(["password"], "PASSWORD_POLICY", f"password {p}")
            for p in password_policy.problems(password, policy)
        ]
        result.password = password


async def _checker(
    session: AsyncSession,
    actor: Actor,
    unit: m.BusinessUnit,
    rows: Sequence[Values],
    *,
    held: dict[int, frozenset[Permission]] | None = None,
) -> Checker:
    """A checker for rows of `unit`, their look-ups made; `held`, what the users to update
    hold, is shared by the checkers of one batch."""
    lookups = Lookups(session, unit)
    if held is not None:
        lookups.held = held
    await lookups.prefetch(rows)
    return Checker(session, actor, lookups)


def _given_twice(name: str) -> UserError:
    return UserError(["username"], "DUPLICATE", f"The username {name!r} is given twice.")


async def check_rows(
    session: AsyncSession, actor: Actor, unit: m.BusinessUnit, drafts: Sequence[Draft]
) -> tuple[list[Values], list[RowResult]]:
    """Each new user's values, checked whole with the batch's look-ups made once, and the
    password chosen for each (given, or generated under a "generate random passwords"
    profile). Reads only."""
    rows = [normalized(d.values) for d in drafts]
    checker = await _checker(session, actor, unit, rows)
    results, in_batch = [], set()
    for index, (draft, values) in enumerate(zip(drafts, rows, strict=True)):
        errors = await checker.check(values, None)
        name = values.get("username")
        if name and name in in_batch:
            errors.append(_given_twice(name))
        in_batch.add(name)
        result = RowResult(index, errors=errors, new=True)
        checker.password(values, draft, result)
        results.append(result)
    return rows, results


async def check_changes(
    session: AsyncSession,
    actor: Actor,
    results: Sequence[RowResult],
    rows: Sequence[Values],
    links: dict[int, dict[str, Any]],
) -> None:
    """Check the changes of the users found (the rows without errors yet: `links` are theirs),
    each against its own unit, adding what is wrong to the row's result. Only what changes is
    checked: what a row keeps as it is is dropped from its values. Reads only."""
    targets = [r.user if not r.errors else None for r in results]
    checkers = await _checkers_by_unit(session, actor, targets, rows)
    seen_names: dict[str, int] = {}
    for result, user, values in zip(results, targets, rows, strict=True):
        if user is None:
            continue
        _drop_unchanged(values, user, links[user.id])
        result.errors += await checkers[user.business_unit_id].check(values, user)
        name = values.get("username")
        if name:
            if name in seen_names and seen_names[name] != user.id:
                result.errors.append(_given_twice(name))
            seen_names[name] = user.id


async def _checkers_by_unit(
    session: AsyncSession, actor: Actor, targets: Sequence[m.User | None], rows: Sequence[Values]
) -> dict[int, Checker]:
    """A checker for each unit of the users to update; they share what those users hold."""
    units = {u.business_unit_id for u in targets if u is not None}
    held = await authority.held_by(session, [u.id for u in targets if u is not None])
    checkers = {}
    for unit_id in units:
        in_unit = [rows[i] for i, u in enumerate(targets) if u is not None and u.business_unit_id == unit_id]
        unit = await session.get_one(m.BusinessUnit, unit_id)  # the users' own unit: it exists
        checkers[unit_id] = await _checker(session, actor, unit, in_unit, held=held)
    return checkers


def _drop_unchanged(values: Values, user: m.User, links: dict[str, Any]) -> None:
    """Take out of `values` what `user` already has: a value kept as it is stays acceptable."""
    for column in [c for c in values if c in BY_COLUMN and values[c] == getattr(user, c)]:
        del values[column]
    given = links_of(values)
    for key in [k for k in COLLECTIONS if k in values and given[k] == links[k]]:
        del values[key]
