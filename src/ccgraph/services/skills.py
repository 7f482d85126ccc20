"""Skills and proficiencies from both sides (NICE 'Assign Skills to a User', 'Change a User's
Skill Proficiencies', 'Add Users to a Skill'): many at once, all or nothing, one audit event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.services import audit, authority
from ccgraph.services.errors import UserError
from ccgraph.services.scope import can_see
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write


@dataclass(frozen=True, slots=True)
class Side:
    """Which end the change is made from: a user's skills, or a skill's users."""

    anchor: Any
    anchor_column: str
    anchor_field: str
    item: Any
    item_column: str
    items_field: str
    item_field: str
    action: str


USER = Side(m.User, "user_id", "userId", m.Skill, "skill_id", "skills", "skillId", "user.skills")
SKILL = Side(m.Skill, "skill_id", "skillId", m.User, "user_id", "users", "userId", "skill.users")


def _proficiency_problem(value: int) -> str | None:
    if not PROFICIENCY_MOST <= value <= PROFICIENCY_LEAST:
        return f"proficiency must be between {PROFICIENCY_MOST} (most proficient) and {PROFICIENCY_LEAST}"
    return None


class _Change:
    def __init__(self, session: AsyncSession, actor: Actor, side: Side, anchor_id: int) -> None:
        self.session, self.actor, self.side, self.anchor_id = session, actor, side, anchor_id
        self.errors: list[UserError] = []

    def fail(self, path: list[str], code: str, message: str) -> None:
        self.errors.append(UserError(path, code, message))

    async def anchor(self) -> Any:
        if self.side is USER:  # changing a user's skills is acting on the user
            return await authority.act_on(self.session, self.actor, self.anchor_id, self.side.anchor_field)
        row = await self.session.get(self.side.anchor, self.anchor_id, populate_existing=True)
        if row is None or not can_see(self.actor.principal, row.business_unit_id):
            raise Rejected([UserError([self.side.anchor_field], "NOT_FOUND", "No skill with this ID.")])
        return row

    def _col(self, name: str) -> Any:
        return getattr(m.UserSkill, name)

    async def assigned(self) -> dict[int, int]:
        """item id -> proficiency, as it is now."""
        rows = await self.session.execute(
            select(self._col(self.side.item_column), m.UserSkill.proficiency).where(
                self._col(self.side.anchor_column) == self.anchor_id
            )
        )
        return dict(rows.all())

    async def check_items(self, anchor: Any, ids: Sequence[int]) -> None:
        found = set(
            (
                await self.session.execute(
                    select(self.side.item.id).where(
                        self.side.item.id.in_(ids), self.side.item.business_unit_id == anchor.business_unit_id
                    )
                )
            ).scalars()
        )
        seen: set[int] = set()
        for index, ref in enumerate(ids):
            path = [self.side.items_field, str(index), self.side.item_field]
            if ref not in found:
                self.fail(path, "NOT_FOUND", "Not found in the same business unit.")
            if ref in seen:
                self.fail(path, "DUPLICATE", "Listed twice.")
            seen.add(ref)

    async def acting_on(self, paths: dict[int, list[str]]) -> None:
        """From a skill's side the items are users acted on: none may outrank the actor
        (`paths`: user id -> the input path that names them)."""
        if self.side is not SKILL or not paths:
            return
        held = await authority.held_by(self.session, list(paths))
        for user_id, path in paths.items():
            refused = authority.outranked(self.actor, user_id, held[user_id], path)
            if refused is not None:
                self.errors.append(refused)

    def check_proficiencies(self, pairs: Sequence[tuple[int, int]]) -> None:
        for index, (_, proficiency) in enumerate(pairs):
            problem = _proficiency_problem(proficiency)
            if problem:
                self.fail([self.side.items_field, str(index), "proficiency"], "INVALID", problem)

    def key(self, item_id: int) -> dict[str, int]:
        return {self.side.anchor_column: self.anchor_id, self.side.item_column: item_id}

    def record(self, anchor: Any, verb: str, before: dict[int, int], after: dict[int, int]) -> None:
        name = self.side.items_field
        changes = audit.diff({name: sorted(before.items())}, {name: sorted(after.items())})
        audit.record(
            self.session,
            self.actor,
            f"{self.side.action}{verb}",
            anchor,
            business_unit_id=anchor.business_unit_id,
            changes=changes,
        )

    async def finish(self, anchor: Any, verb: str, before: dict[int, int], after: dict[int, int]) -> Any:
        if self.side is USER:  # a user's skills are part of the user: bump its version
            anchor.updated_at = utcnow()
            await self.session.flush()
        else:  # so are the skill's users': each changed one moves on, as if changed itself
            changed = [u for u in set(before) | set(after) if before.get(u) != after.get(u)]
            if changed:
                await self.session.execute(
                    update(m.User)
                    .where(m.User.id.in_(changed))
                    .values(updated_at=utcnow(), version=m.User.version + 1)
                    .execution_options(synchronize_session="fetch")
                )
        self.record(anchor, verb, before, after)
        return anchor


async def add(
    session: AsyncSession,
    actor: Actor,
    side: Side,
    anchor_id: int,
    pairs: Sequence[tuple[int, int]],
    *,
    validate_only: bool = False,
) -> Outcome[Any]:
    """Assign many at once; one already assigned is reported (ALREADY_ASSIGNED), not doubled."""

    async def work() -> Any:
        change = _Change(session, actor, side, anchor_id)
        anchor = await change.anchor()
        if not pairs:
            change.fail([side.items_field], "REQUIRED", "Give at least one.")
        await change.check_items(anchor, [i for i, _ in pairs])
        await change.acting_on(
            {i: [side.items_field, str(n), side.item_field] for n, (i, _) in enumerate(pairs)}
        )
        change.check_proficiencies(pairs)
        before = await change.assigned()
        for index, (item_id, _) in enumerate(pairs):
            if item_id in before:
                change.fail(
                    [side.items_field, str(index), side.item_field],
                    "ALREADY_ASSIGNED",
                    "Already assigned; change its proficiency instead.",
                )
        if change.errors:
            raise Rejected(change.errors)
        now = utcnow()
        await session.execute(
            insert(m.UserSkill), [change.key(i) | {"proficiency": p, "created_at": now} for i, p in pairs]
        )
        return await change.finish(anchor, "Add", before, before | dict(pairs))

    return await run_write(session, work, validate_only=validate_only)


async def set_proficiency(
    session: AsyncSession,
    actor: Actor,
    side: Side,
    anchor_id: int,
    pairs: Sequence[tuple[int, int]] | None,
    all_to: int | None,
    *,
    validate_only: bool = False,
) -> Outcome[Any]:
    """Change the proficiency of many, or of all at once (`all_to`)."""

    async def work() -> Any:
        change = _Change(session, actor, side, anchor_id)
        anchor = await change.anchor()
        before = await change.assigned()
        if all_to is not None and pairs is None:
            problem = _proficiency_problem(all_to)
            if problem:
                raise Rejected([UserError(["setAllTo"], "INVALID", problem)])
            wanted = dict.fromkeys(before, all_to)
            await change.acting_on(dict.fromkeys(before, ["setAllTo"]))
        elif pairs is not None and all_to is None:
            await change.check_items(anchor, [i for i, _ in pairs])
            await change.acting_on(
                {i: [side.items_field, str(n), side.item_field] for n, (i, _) in enumerate(pairs)}
            )
            change.check_proficiencies(pairs)
            for index, (item_id, _) in enumerate(pairs):
                if item_id not in before:
                    change.fail(
                        [side.items_field, str(index), side.item_field],
                        "NOT_ASSIGNED",
                        "Not assigned; add it first.",
                    )
            wanted = dict(pairs)
        else:
            raise Rejected(
                [UserError([side.items_field], "INVALID", f"Give either {side.items_field} or setAllTo.")]
            )
        if change.errors:
            raise Rejected(change.errors)
        for item_id, proficiency in wanted.items():
            await session.execute(
                update(m.UserSkill)
                .where(*(getattr(m.UserSkill, k) == v for k, v in change.key(item_id).items()))
                .values(proficiency=proficiency)
            )
        return await change.finish(anchor, "SetProficiency", before, before | wanted)

    return await run_write(session, work, validate_only=validate_only)


async def remove(
    session: AsyncSession,
    actor: Actor,
    side: Side,
    anchor_id: int,
    item_ids: Sequence[int],
    *,
    validate_only: bool = False,
) -> Outcome[Any]:
    async def work() -> Any:
        change = _Change(session, actor, side, anchor_id)
        anchor = await change.anchor()
        before = await change.assigned()
        if not item_ids:
            change.fail([side.items_field], "REQUIRED", "Give at least one.")
        for index, item_id in enumerate(item_ids):
            if item_id not in before:
                change.fail([f"{side.item_field}s", str(index)], "NOT_ASSIGNED", "Not assigned.")
        await change.acting_on(
            {i: [f"{side.item_field}s", str(n)] for n, i in enumerate(item_ids) if i in before}
        )
        if change.errors:
            raise Rejected(change.errors)
        await session.execute(
            delete(m.UserSkill).where(
                getattr(m.UserSkill, side.anchor_column) == anchor_id,
                getattr(m.UserSkill, side.item_column).in_(item_ids),
            )
        )
        return await change.finish(
            anchor, "Remove", before, {k: v for k, v in before.items() if k not in item_ids}
        )

    return await run_write(session, work, validate_only=validate_only)
