"""The audit trail: every write records who did what to whom, with the changed fields before
and after, in the same transaction as the change. Secrets never enter it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import visible
from ccgraph.services.writes import Actor, note_change

AUDIT_ORDER = Ordering((m.AuditEvent.id,), descending=True)


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value changed, as {field: {"before": x, "after": y}}."""
    changed = {}
    for key in sorted(set(before) | set(after)):
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changed[key] = {"before": old, "after": new}
    return changed


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: Any,
    *,
    business_unit_id: int,
    changes: dict[str, Any] | None = None,
    label: str | None = None,
) -> m.AuditEvent:
    event = m.AuditEvent(
        business_unit_id=business_unit_id,
        actor_user_id=actor.principal.user_id,
        actor_username=actor.principal.username,
        action=action,
        target_type=type(target).__name__,
        target_id=getattr(target, "id", None),
        target_label=label if label is not None else _label(target),
        changes=changes or {},
        request_id=actor.request_id,
    )
    session.add(event)
    note_change(session, target, event.changes)
    return event


async def record_many(
    session: AsyncSession, actor: Actor, action: str, entries: list[tuple[Any, int, dict[str, Any]]]
) -> None:
    """Many events of one action at once, as one INSERT: (target, business unit id, changes)."""
    if not entries:
        return
    now = utcnow()
    rows = [
        {
            "business_unit_id": unit_id,
            "actor_user_id": actor.principal.user_id,
            "actor_username": actor.principal.username,
            "action": action,
            "target_type": type(target).__name__,
            "target_id": getattr(target, "id", None),
            "target_label": _label(target),
            "changes": changes,
            "request_id": actor.request_id,
            "created_at": now,
        }
        for target, unit_id, changes in entries
    ]
    await session.execute(insert(m.AuditEvent), rows)
    for target, _, changes in entries:
        note_change(session, target, changes)


def given(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The audit changes of something created: every value it was given."""
    return {
        k: {"before": None, "after": _plain(v)} for k, v in sorted(values.items()) if v not in (None, [], {})
    }


def _label(target: Any) -> str | None:
    for attr in ("username", "name"):
        if hasattr(target, attr):
            return str(getattr(target, attr))
    return None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    actor_user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_query(principal: Principal, f: AuditFilter) -> Select[Any]:
    stmt = select(m.AuditEvent).where(visible(principal, m.AuditEvent.business_unit_id))
    if f.action:
        stmt = stmt.where(m.AuditEvent.action == f.action)
    if f.target_type:
        stmt = stmt.where(m.AuditEvent.target_type == f.target_type)
    if f.target_id is not None:
        stmt = stmt.where(m.AuditEvent.target_id == f.target_id)
    if f.actor_user_id is not None:
        stmt = stmt.where(m.AuditEvent.actor_user_id == f.actor_user_id)
    if f.since is not None:
        stmt = stmt.where(m.AuditEvent.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(m.AuditEvent.created_at < f.until)
    return stmt
