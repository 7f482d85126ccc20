"""Create, update and delete the named objects of a business unit (teams, queues, work
streams, presence statuses, user profiles, skills, security profiles). One routine, driven by
a spec per kind, so each rule (names unique per unit, references inside the unit, a change
made from a stale version refused, built-in rows kept as they are, every change audited) is
written once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.services import audit, authority
from ccgraph.services import validation as v
from ccgraph.services.errors import UserError, not_found
from ccgraph.services.scope import can_see
from ccgraph.services.users.fields import camel
from ccgraph.services.users.lifecycle import target_unit
from ccgraph.services.writes import Actor, Outcome, Rejected, conflict, run_write

NAME = v.text(100, required=True)
DESCRIPTION = v.text(500)
READ_ONLY = "READ_ONLY"


def require_version(row: Any, version: int, what: str) -> None:
    """Optimistic concurrency, as for users: a change made from a copy older than `row` is
    refused whole (CONFLICT on `version`) before anything else is checked, and the caller is
    shown the object as it is now, with its current version, to re-read and retry."""
    if row.version != version:
        raise Rejected(
            [
                conflict(
                    f"The {what} was changed since version {version}; it is now at version "
                    f"{row.version}. Nothing was applied: re-read and retry.",
                    ["version"],
                )
            ],
            current=row,
        )


@dataclass(frozen=True, slots=True)
class Link:
    """A many-to-many collection, written as a list of ids (e.g. a profile's queues)."""

    table: Table
    owner: str
    target: str
    model: Any


@dataclass(frozen=True, slots=True)
class Kind:
    model: Any
    label: str  # "queue": used in messages and audit actions
    checks: dict[str, v.Check | None] = field(default_factory=dict)  # columns besides name
    references: dict[str, Any] = field(default_factory=dict)  # column -> model in the same unit
    links: dict[str, Link] = field(default_factory=dict)  # "queue_ids" -> Link
    # The authority rules: for creating (row None) or changing a row (the values given), and for
    # deleting one.
    change_authority: Callable[[Actor, Any | None, dict[str, Any]], list[UserError]] | None = None
    removal_authority: Callable[[Actor, Any], list[UserError]] | None = None
    in_use: Callable[[AsyncSession, Any], Awaitable[str | None]] | None = None
    required: tuple[str, ...] = ()  # besides name, on create
    # A built-in row (e.g. a base presence status) keeps these columns and is never deleted.
    built_in: Callable[[Any], bool] | None = None
    read_only: tuple[str, ...] = ()
    # Columns besides the name whose value is unique within the unit, exactly as given (an
    # identity provider's id of a team); None is never taken.
    unique: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        return camel(self.label.replace(" ", "_"))


async def _problems(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    unit_id: int,
    values: dict[str, Any],
    existing: Any | None,
) -> list[UserError]:
    errors: list[UserError] = []
    creating = existing is None
    if "name" in values or creating:
        problem = NAME(values.get("name"))
        if problem:
            errors.append(
                UserError(["name"], "INVALID" if values.get("name") else "REQUIRED", f"name {problem}")
            )
        else:
            clash = select(kind.model.id).where(
                kind.model.business_unit_id == unit_id,
                func.lower(kind.model.name) == values["name"].lower(),
            )
            if existing is not None:
                clash = clash.where(kind.model.id != existing.id)
            if (await session.execute(clash)).first():
                errors.append(
                    UserError(["name"], "TAKEN", f"A {kind.label} named {values['name']!r} exists.")
                )
    if "description" in values:
        problem = DESCRIPTION(values["description"])
        if problem:
            errors.append(UserError(["description"], "INVALID", f"description {problem}"))
    for column in kind.required:
        if creating and values.get(column) is None:
            errors.append(UserError([camel(column)], "REQUIRED", f"{camel(column)} is required"))
    table = kind.model.__table__
    for column, value in values.items():
        if value is None and column in table.c and not table.c[column].nullable and column != "name":
            errors.append(UserError([camel(column)], "INVALID", f"{camel(column)} cannot be null"))
    for column, check in kind.checks.items():
        if column in values and check is not None:
            problem = check(values[column])
            if problem:
                errors.append(UserError([camel(column)], "INVALID", f"{camel(column)} {problem}"))
    for column in kind.unique:
        if values.get(column) is None or any(e.field == [camel(column)] for e in errors):
            continue
        clash = select(kind.model.id).where(
            kind.model.business_unit_id == unit_id, getattr(kind.model, column) == values[column]
        )
        if existing is not None:
            clash = clash.where(kind.model.id != existing.id)
        if (await session.execute(clash)).first():
            errors.append(
                UserError(
                    [camel(column)], "TAKEN", f"Another {kind.label} of the unit has this {camel(column)}."
                )
            )
    for column, model in kind.references.items():
        ref = values.get(column)
        if ref is not None:
            row = await session.get(model, ref)
            if row is None or row.business_unit_id != unit_id:
                errors.append(not_found([camel(column)], model.__name__))
    for key, link in kind.links.items():
        ids = values.get(key) or []
        if ids:
            found = set(
                (
                    await session.execute(
                        select(link.model.id).where(
                            link.model.id.in_(ids), link.model.business_unit_id == unit_id
                        )
                    )
                ).scalars()
            )
            for index, ref in enumerate(ids):
                if ref not in found:
                    errors.append(not_found([camel(key), str(index)], link.model.__name__))
    if existing is not None:
        errors = _read_only(kind, existing, values) + errors
    if kind.change_authority:
        errors = kind.change_authority(actor, existing, values) + errors
    return errors


def _built_in(kind: Kind, row: Any) -> bool:
    return kind.built_in is not None and kind.built_in(row)


def _read_only(kind: Kind, row: Any, values: dict[str, Any]) -> list[UserError]:
    """A built-in row's read-only columns may be given only as they are."""
    if not _built_in(kind, row):
        return []
    return [
        _kept(kind, row, camel(column), f"its {camel(column)} cannot be changed")
        for column in kind.read_only
        if column in values and values[column] != getattr(row, column)
    ]


def _kept(kind: Kind, row: Any, field: str, what: str) -> UserError:
    return UserError([field], READ_ONLY, f"{row.name!r} is a built-in {kind.label}: {what}.")


async def _link_ids(session: AsyncSession, kind: Kind, owner_id: int) -> dict[str, list[int]]:
    result = {}
    for key, link in kind.links.items():
        owner, target = link.table.c[link.owner], link.table.c[link.target]
        result[key] = sorted((await session.execute(select(target).where(owner == owner_id))).scalars())
    return result


def _state(kind: Kind, row: Any, links: dict[str, list[int]]) -> dict[str, Any]:
    columns = ["name", "description", *kind.checks, *kind.references]
    return {c: getattr(row, c) for c in columns if hasattr(row, c)} | links


async def _write_links(session: AsyncSession, kind: Kind, owner_id: int, values: dict[str, Any]) -> None:
    for key, link in kind.links.items():
        if key not in values:
            continue
        await session.execute(delete(link.table).where(link.table.c[link.owner] == owner_id))
        ids = list(dict.fromkeys(values[key] or []))
        if ids:
            await session.execute(insert(link.table), [{link.owner: owner_id, link.target: i} for i in ids])


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for key in ("name", "description"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    if values.get("external_id") == "":
        values["external_id"] = None  # no id: it would collide with every other blank one
    return values


async def create(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    values: dict[str, Any],
    *,
    business_unit_id: int | None = None,
    validate_only: bool = False,
) -> Outcome[Any]:
    return await run_write(
        session,
        lambda: create_row(session, actor, kind, values, business_unit_id=business_unit_id),
        validate_only=validate_only,
    )


async def create_row(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    values: dict[str, Any],
    *,
    business_unit_id: int | None = None,
) -> Any:
    """`create` inside the caller's write transaction: a refusal raises Rejected."""
    unit = await target_unit(session, actor, business_unit_id)
    cleaned = _clean(values)
    errors = await _problems(session, actor, kind, unit.id, cleaned, None)
    if errors:
        raise Rejected(errors)
    row = kind.model(business_unit_id=unit.id, **{k: v for k, v in cleaned.items() if k not in kind.links})
    session.add(row)
    await session.flush()
    await _write_links(session, kind, row.id, cleaned)
    audit.record(
        session,
        actor,
        f"{kind.action}.create",
        row,
        business_unit_id=unit.id,
        changes=audit.diff({}, _state(kind, row, await _link_ids(session, kind, row.id))),
    )
    return row


async def _visible(session: AsyncSession, actor: Actor, kind: Kind, pk: int) -> Any:
    row = await session.get(kind.model, pk, populate_existing=True)
    if row is None or not can_see(actor.principal, row.business_unit_id):
        raise Rejected([not_found(["id"], kind.label)])
    return row


def _wanted(kind: Kind, before: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The state `values` asks for, each collection as `_write_links` writes it."""
    given = {k: sorted(dict.fromkeys(x or [])) if k in kind.links else x for k, x in values.items()}
    return before | given


async def update(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    pk: int,
    version: int,
    values: dict[str, Any],
    *,
    validate_only: bool = False,
) -> Outcome[Any]:
    """Change only what is given, from the current `version`. A change that changes nothing is
    not written (no new version, no audit event), as for users."""
    return await run_write(
        session, lambda: update_row(session, actor, kind, pk, version, values), validate_only=validate_only
    )


async def update_row(
    session: AsyncSession, actor: Actor, kind: Kind, pk: int, version: int, values: dict[str, Any]
) -> Any:
    """`update` inside the caller's write transaction: a refusal raises Rejected."""
    row = await _visible(session, actor, kind, pk)
    require_version(row, version, kind.label)
    cleaned = _clean(values)
    errors = await _problems(session, actor, kind, row.business_unit_id, cleaned, row)
    if errors:
        raise Rejected(errors)
    before = _state(kind, row, await _link_ids(session, kind, row.id))
    if not audit.diff(before, _wanted(kind, before, cleaned)):
        return row
    administered = (
        await authority.administered(session, [row.business_unit_id]) if "permissions" in cleaned else {}
    )
    for column, value in cleaned.items():
        if column not in kind.links:
            setattr(row, column, value)
    row.updated_at = utcnow()
    await session.flush()
    await _write_links(session, kind, row.id, cleaned)
    await authority.keep_administered(session, administered, ["permissions"])
    after = _state(kind, row, await _link_ids(session, kind, row.id))
    audit.record(
        session,
        actor,
        f"{kind.action}.update",
        row,
        business_unit_id=row.business_unit_id,
        changes=audit.diff(before, after),
    )
    return row


async def remove(
    session: AsyncSession, actor: Actor, kind: Kind, pk: int, *, validate_only: bool = False
) -> Outcome[int]:
    async def work() -> int:
        row = await _visible(session, actor, kind, pk)
        if _built_in(kind, row):
            raise Rejected([_kept(kind, row, "id", "it cannot be deleted")])
        if kind.removal_authority is not None:
            refused = kind.removal_authority(actor, row)
            if refused:
                raise Rejected(refused)
        if kind.in_use is not None:
            reason = await kind.in_use(session, row)
            if reason:
                raise Rejected([UserError(["id"], "IN_USE", reason)])
        before = _state(kind, row, await _link_ids(session, kind, row.id))
        audit.record(
            session,
            actor,
            f"{kind.action}.delete",
            row,
            business_unit_id=row.business_unit_id,
            changes=audit.diff(before, {}),
        )
        await session.execute(delete(kind.model).where(kind.model.id == row.id))
        return pk

    return await run_write(session, work, validate_only=validate_only)


async def _security_profile_in_use(session: AsyncSession, row: m.SecurityProfile) -> str | None:
    holders = (
        await session.execute(
            select(func.count())
            .select_from(m.user_security_profiles)
            .where(m.user_security_profiles.c.security_profile_id == row.id)
        )
    ).scalar_one()
    return f"{holders} user(s) hold this security profile; move them first." if holders else None


# A team's external id is set only by the identity provider that provisions it (SCIM Groups).
TEAM = Kind(m.Team, "team", checks={"external_id": v.identifier(255)}, unique=("external_id",))
QUEUE = Kind(m.Queue, "queue")
WORK_STREAM = Kind(m.WorkStream, "work stream", checks={"channel": None}, required=("channel",))
PRESENCE_STATUS = Kind(
    m.PresenceStatus,
    "presence status",
    checks={"base_status": None},
    required=("base_status",),
    # The base statuses every custom one maps to (bootstrap.BASE_PRESENCES) stay as they are.
    built_in=lambda row: not row.is_custom,
    read_only=("name", "base_status"),
)
USER_PROFILE = Kind(
    m.UserProfile,
    "user profile",
    checks={"capacity": v.int_range(0, 10_000), "channel_concurrency": v.per_channel(0, 100)},
    references={"default_presence_id": m.PresenceStatus},
    links={
        "queue_ids": Link(m.user_profile_queues, "user_profile_id", "queue_id", m.Queue),
        "work_stream_ids": Link(
            m.user_profile_work_streams, "user_profile_id", "work_stream_id", m.WorkStream
        ),
    },
)
SKILL = Kind(m.Skill, "skill", checks={"active": None}, references={"work_stream_id": m.WorkStream})
SECURITY_PROFILE = Kind(
    m.SecurityProfile,
    "security profile",
    checks={
        "permissions": None,
        "password_min_length": v.int_range(8, 128),
        "password_require_uppercase": None,
        "password_require_lowercase": None,
        "password_require_digit": None,
        "password_require_symbol": None,
        "generate_random_passwords": None,
    },
    change_authority=authority.security_profile_change,
    removal_authority=authority.security_profile_removal,
    in_use=_security_profile_in_use,
)
