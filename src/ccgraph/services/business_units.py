"""Business units: the tenants, their five custom user field labels (NICE 'Edit the Custom
User Fields') and the feature switches that decide which user fields apply. Every change is
made from the unit's current `version` (a stale one is a CONFLICT, as for users), and one that
changes nothing is not written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.services import audit
from ccgraph.services.bootstrap import ensure_base_presences
from ccgraph.services.catalog.writes import require_version
from ccgraph.services.errors import UserError
from ccgraph.services.scope import can_see
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

LABEL_MAX = 50
SLOTS = range(1, 6)
SWITCHES = (
    "omnichannel_session_handling",
    "granular_osh",
    "wfo_enabled",
    "wfm_enabled",
    "max_release_preview_allowed",
    "crm_integration_enabled",
)


async def _unit_to_change(
    session: AsyncSession, actor: Actor, unit_id: int, version: int, field: str = "businessUnitId"
) -> m.BusinessUnit:
    """The unit, if the actor sees it and it is still at `version`."""
    unit = await session.get(m.BusinessUnit, unit_id, populate_existing=True)
    if unit is None or not can_see(actor.principal, unit_id):
        raise Rejected([UserError([field], "NOT_FOUND", "No business unit with this ID.")])
    require_version(unit, version, "business unit")
    return unit


def _write(
    session: AsyncSession,
    actor: Actor,
    unit: m.BusinessUnit,
    action: str,
    columns: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
) -> m.BusinessUnit:
    """Set `columns` and audit `before` -> `after`; nothing at all when nothing changes."""
    changes = audit.diff(before, after)
    if changes:
        for column, value in columns.items():
            setattr(unit, column, value)
        unit.updated_at = utcnow()
        audit.record(session, actor, action, unit, business_unit_id=unit.id, changes=changes)
    return unit


def _labels(unit: m.BusinessUnit) -> dict[int, str]:
    return {slot: getattr(unit, f"custom_field_{slot}_label") for slot in SLOTS}


async def update_custom_fields(
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    version: int,
    labels: Sequence[tuple[int, str]],
    *,
    validate_only: bool = False,
) -> Outcome[m.BusinessUnit]:
    """Rename custom fields. Values stay where they are (a label names a slot), so renaming
    keeps every user's value; labels are trimmed, 1-50 characters and unique in the unit."""

    async def work() -> m.BusinessUnit:
        unit = await _unit_to_change(session, actor, unit_id, version)
        before = _labels(unit)
        after = dict(before)
        errors: list[UserError] = []
        seen: set[int] = set()
        for index, (slot, label) in enumerate(labels):
            path = ["labels", str(index)]
            if slot not in SLOTS:
                errors.append(UserError([*path, "slot"], "INVALID", "slot must be 1 to 5"))
                continue
            if slot in seen:
                errors.append(UserError([*path, "slot"], "DUPLICATE", f"Slot {slot} is given twice."))
            seen.add(slot)
            text = (label or "").strip()
            if not 1 <= len(text) <= LABEL_MAX:
                errors.append(
                    UserError([*path, "label"], "INVALID", f"label must be 1 to {LABEL_MAX} characters")
                )
                continue
            after[slot] = text
        by_name: dict[str, list[int]] = {}
        for slot, text in after.items():
            by_name.setdefault(text.lower(), []).append(slot)
        for index, (slot, _) in enumerate(labels):
            if slot in after and len(by_name.get(after[slot].lower(), [])) > 1 and not errors:
                errors.append(
                    UserError(
                        ["labels", str(index), "label"],
                        "TAKEN",
                        f"Another custom field of the unit is labelled {after[slot]!r}.",
                    )
                )
        if errors:
            raise Rejected(errors)
        return _write(
            session,
            actor,
            unit,
            "businessUnit.customFieldsUpdate",
            {f"custom_field_{k}_label": v for k, v in after.items()},
            {f"custom_field_{k}": v for k, v in before.items()},
            {f"custom_field_{k}": v for k, v in after.items()},
        )

    return await run_write(session, work, validate_only=validate_only)


async def update_settings(
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    version: int,
    switches: dict[str, bool | None],
    *,
    validate_only: bool = False,
) -> Outcome[m.BusinessUnit]:
    """Turn features on or off. Values of a feature switched off are kept, unread, so switching
    it back on restores them."""

    async def work() -> m.BusinessUnit:
        unit = await _unit_to_change(session, actor, unit_id, version)
        before = {k: getattr(unit, k) for k in SWITCHES}
        after = before | {k: bool(v) for k, v in switches.items() if k in SWITCHES and v is not None}
        _check_osh(after["granular_osh"], after["omnichannel_session_handling"])
        return _write(session, actor, unit, "businessUnit.settingsUpdate", after, before, after)

    return await run_write(session, work, validate_only=validate_only)


def _check_osh(granular_osh: bool, omnichannel_session_handling: bool) -> None:
    if granular_osh and not omnichannel_session_handling:
        raise Rejected(
            [UserError(["granularOsh"], "INVALID", "Granular OSH needs omnichannelSessionHandling to be on.")]
        )


async def _name_problem(session: AsyncSession, name: Any, unit_id: int | None) -> UserError | None:
    text = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= 100:
        return UserError(["name"], "INVALID", "name must be 1 to 100 characters")
    clash = select(m.BusinessUnit.id).where(func.lower(m.BusinessUnit.name) == text.lower())
    if unit_id is not None:
        clash = clash.where(m.BusinessUnit.id != unit_id)
    if (await session.execute(clash)).first():
        return UserError(["name"], "TAKEN", f"A business unit named {text!r} exists.")
    return None


async def create_unit(
    session: AsyncSession,
    actor: Actor,
    name: str,
    switches: dict[str, bool | None],
    *,
    validate_only: bool = False,
) -> Outcome[m.BusinessUnit]:
    async def work() -> m.BusinessUnit:
        problem = await _name_problem(session, name, None)
        if problem:
            raise Rejected([problem])
        unit = m.BusinessUnit(name=name.strip(), **{k: bool(v) for k, v in switches.items() if k in SWITCHES})
        _check_osh(unit.granular_osh, unit.omnichannel_session_handling)
        session.add(unit)
        await session.flush()
        await ensure_base_presences(session, unit.id)
        audit.record(
            session,
            actor,
            "businessUnit.create",
            unit,
            business_unit_id=unit.id,
            changes=audit.diff({}, {"name": unit.name}),
        )
        return unit

    return await run_write(session, work, validate_only=validate_only)


async def rename_unit(
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    version: int,
    name: str,
    *,
    validate_only: bool = False,
) -> Outcome[m.BusinessUnit]:
    async def work() -> m.BusinessUnit:
        unit = await _unit_to_change(session, actor, unit_id, version, "id")
        problem = await _name_problem(session, name, unit.id)
        if problem:
            raise Rejected([problem])
        after = {"name": name.strip()}
        return _write(session, actor, unit, "businessUnit.update", after, {"name": unit.name}, after)

    return await run_write(session, work, validate_only=validate_only)
