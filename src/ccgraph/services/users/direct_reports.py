"""Direct reports (Dynamics 365: "In the Direct Reports section, add existing users as direct
reports"): a manager's list, changed from the manager's record. Each report's change is the
user update that sets their manager (`update_rows`), so its rules are those of `userUpdate`:
the actor sees and outranks every report, the manager is in the report's business unit, no
one comes to report to themselves or to someone below them, and each change is audited. All
or nothing."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.services import authority
from ccgraph.services.errors import UserError
from ccgraph.services.scope import visible
from ccgraph.services.users.checks import RowResult, chunks
from ccgraph.services.users.lifecycle import Change, update_rows
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write


class Edit(enum.Enum):
    ADD = "add"  # the listed users report to the manager
    REMOVE = "remove"  # the listed users, who report to the manager, no longer do
    SET = "set"  # the listed users are the manager's direct reports, and no one else


@dataclass(frozen=True, slots=True)
class _Row:
    """One report's change, and where its refusals are reported: the entry of `userIds`, or
    (a report that `SET` drops) the list as a whole, naming the user."""

    change: Change
    field: list[str]
    dropped: str | None = None  # the username of a report SET drops


async def edit_direct_reports(
    session: AsyncSession,
    actor: Actor,
    manager_id: int,
    user_ids: Sequence[int],
    edit: Edit,
    *,
    validate_only: bool = False,
) -> Outcome[m.User]:
    """Add, remove or set a manager's direct reports in one transaction; the manager is the
    user acted on (they may not outrank the actor)."""

    async def work() -> m.User:
        manager = await authority.act_on(session, actor, manager_id, "managerId")
        rows, errors = await _rows(session, actor, manager, user_ids, edit)
        try:
            results = await update_rows(session, actor, [row.change for row in rows])
        except Rejected as refused:
            results = refused.result
        errors += [e for row, result in zip(rows, results, strict=True) for e in _located(row, result)]
        if errors:
            raise Rejected(errors)
        return manager

    return await run_write(session, work, validate_only=validate_only)


async def _rows(
    session: AsyncSession, actor: Actor, manager: m.User, user_ids: Sequence[int], edit: Edit
) -> tuple[list[_Row], list[UserError]]:
    """The changes `edit` makes, and what is wrong with the list itself: a user listed twice,
    or (REMOVE) a user who does not report to this manager."""
    errors: list[UserError] = []
    rows: list[_Row] = []
    listed: set[int] = set()
    for index, user_id in enumerate(user_ids):
        field = ["userIds", str(index)]
        if user_id in listed:
            errors.append(UserError(field, "DUPLICATE", "This user is listed twice."))
            continue
        listed.add(user_id)
        manager_id = None if edit is Edit.REMOVE else manager.id
        rows.append(_Row(Change({"manager_id": manager_id}, user_id=user_id), field))
    if edit is Edit.REMOVE:
        errors += await _not_reporting(session, actor, manager, rows)
    if edit is Edit.SET:
        rows += [
            _Row(Change({"manager_id": None}, user_id=report.id), ["userIds"], dropped=report.username)
            for report in await _reports(session, actor, manager)
            if report.id not in listed
        ]
    return rows, errors


async def _not_reporting(
    session: AsyncSession, actor: Actor, manager: m.User, rows: list[_Row]
) -> list[UserError]:
    """The users listed for removal who do not report to this manager; those the actor does
    not see are left to the user update, which refuses them as not found."""
    strays: dict[int, str] = {}
    for chunk in chunks([row.change.user_id for row in rows]):
        stmt = select(m.User.id, m.User.username).where(
            m.User.id.in_(chunk),
            m.User.manager_id.is_distinct_from(manager.id),
            visible(actor.principal, m.User.business_unit_id),
        )
        strays.update({user_id: username for user_id, username in (await session.execute(stmt)).all()})
    return [
        UserError(row.field, "NOT_A_DIRECT_REPORT", f"{strays[uid]} does not report to this manager.")
        for row in rows
        if (uid := row.change.user_id) is not None and uid in strays
    ]


async def _reports(session: AsyncSession, actor: Actor, manager: m.User) -> Sequence[m.User]:
    """The manager's direct reports the actor sees (SET leaves the others alone)."""
    stmt = select(m.User).where(
        m.User.manager_id == manager.id, visible(actor.principal, m.User.business_unit_id)
    )
    return (await session.execute(stmt.order_by(m.User.username))).scalars().all()


# What a report's refusal says when it is moved from the user update's fields to the list.
_REWORDED = {
    ("managerId", "NOT_FOUND"): "The manager is not in this user's business unit.",
    ("managerId", "INVALID"): "This user is the manager or above them in the management chain: "
    "they cannot report to them.",
}


def _located(row: _Row, result: RowResult) -> list[UserError]:
    """A report's refusals by the user update, reported at the report's place in the input."""
    located = []
    for error in result.errors:
        message = _REWORDED.get((error.field[-1] if error.field else "", error.code), error.message)
        if row.dropped is not None:
            message = f"{row.dropped} (a direct report not listed): {message}"
        located.append(UserError(row.field, error.code, message))
    return located
