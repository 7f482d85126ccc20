"""The audit trail: every write records who did what to whom, with the changed fields before
and after, in the same transaction as the change. Secrets never enter it."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.services import publication
from ccgraph.services.pagination import Ordering
from ccgraph.services.scope import visible
from ccgraph.services.writes import Actor, note_change

AUDIT_ORDER = Ordering((m.AuditEvent.id,), descending=True)


class AuditAction(enum.StrEnum):
    """Every action the services record, as stored ("user.create"): `<target>.<verb>`."""

    USER_CREATE = "user.create"
    USER_COPY = "user.copy"
    USER_UPDATE = "user.update"
    USER_ENABLE = "user.enable"
    USER_DISABLE = "user.disable"
    USER_DELETE = "user.delete"
    USER_ASSIGN_PROFILE = "user.assignProfile"
    USER_PASSWORD_RESET = "user.passwordReset"
    USER_MFA_CLEAR = "user.mfaClear"
    USER_SESSIONS_REVOKE_ALL = "user.sessionsRevokeAll"
    USER_SKILLS_ADD = "user.skillsAdd"
    USER_SKILLS_SET_PROFICIENCY = "user.skillsSetProficiency"
    USER_SKILLS_REMOVE = "user.skillsRemove"
    VIEWER_PASSWORD_CHANGE = "viewer.passwordChange"
    VIEWER_MFA_ENROLL = "viewer.mfaEnroll"
    VIEWER_MFA_CONFIRM = "viewer.mfaConfirm"
    SESSION_REVOKE = "session.revoke"
    ACCESS_KEY_CREATE = "accessKey.create"
    ACCESS_KEY_UPDATE = "accessKey.update"
    ACCESS_KEY_ACTIVATE = "accessKey.activate"
    ACCESS_KEY_DEACTIVATE = "accessKey.deactivate"
    ACCESS_KEY_DELETE = "accessKey.delete"
    BUSINESS_UNIT_CREATE = "businessUnit.create"
    BUSINESS_UNIT_UPDATE = "businessUnit.update"
    BUSINESS_UNIT_SETTINGS_UPDATE = "businessUnit.settingsUpdate"
    BUSINESS_UNIT_CUSTOM_FIELDS_UPDATE = "businessUnit.customFieldsUpdate"
    TEAM_CREATE = "team.create"
    TEAM_UPDATE = "team.update"
    TEAM_DELETE = "team.delete"
    QUEUE_CREATE = "queue.create"
    QUEUE_UPDATE = "queue.update"
    QUEUE_DELETE = "queue.delete"
    WORK_STREAM_CREATE = "workStream.create"
    WORK_STREAM_UPDATE = "workStream.update"
    WORK_STREAM_DELETE = "workStream.delete"
    PRESENCE_STATUS_CREATE = "presenceStatus.create"
    PRESENCE_STATUS_UPDATE = "presenceStatus.update"
    PRESENCE_STATUS_DELETE = "presenceStatus.delete"
    USER_PROFILE_CREATE = "userProfile.create"
    USER_PROFILE_UPDATE = "userProfile.update"
    USER_PROFILE_DELETE = "userProfile.delete"
    SKILL_CREATE = "skill.create"
    SKILL_UPDATE = "skill.update"
    SKILL_DELETE = "skill.delete"
    SKILL_USERS_ADD = "skill.usersAdd"
    SKILL_USERS_SET_PROFICIENCY = "skill.usersSetProficiency"
    SKILL_USERS_REMOVE = "skill.usersRemove"
    SECURITY_PROFILE_CREATE = "securityProfile.create"
    SECURITY_PROFILE_UPDATE = "securityProfile.update"
    SECURITY_PROFILE_DELETE = "securityProfile.delete"
    WEBHOOK_CREATE = "webhook.create"
    WEBHOOK_UPDATE = "webhook.update"
    WEBHOOK_SECRET_ROTATE = "webhook.secretRotate"
    WEBHOOK_DELETE = "webhook.delete"

    @property
    def description(self) -> str:
        target, verb = self.value.split(".")
        special = _ACTION_DESCRIPTIONS.get(self)
        if special:
            return special
        return f"{_a(target).capitalize()} was {_VERBED[verb]}."


def _a(type_name: str) -> str:
    """ "accessKey" or "AccessKey" -> "an access key"."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()
    return f"{'an' if words[0] in 'aeio' else 'a'} {words}"


_VERBED = {"create": "created", "update": "updated", "delete": "deleted"}
_ACTION_DESCRIPTIONS: dict[AuditAction, str] = {
    AuditAction.USER_COPY: "A user was created as a copy of another.",
    AuditAction.USER_ENABLE: "A user was enabled.",
    AuditAction.USER_DISABLE: "A user was disabled (and signed out everywhere).",
    AuditAction.USER_ASSIGN_PROFILE: "A user profile or security profile was assigned to users.",
    AuditAction.USER_PASSWORD_RESET: "A user's password was reset by an administrator.",
    AuditAction.USER_MFA_CLEAR: "A user's MFA secret was cleared by an administrator.",
    AuditAction.USER_SESSIONS_REVOKE_ALL: "All of a user's sessions were revoked.",
    AuditAction.USER_SKILLS_ADD: "Skills were added to a user.",
    AuditAction.USER_SKILLS_SET_PROFICIENCY: "A user's skill proficiencies were changed.",
    AuditAction.USER_SKILLS_REMOVE: "Skills were removed from a user.",
    AuditAction.VIEWER_PASSWORD_CHANGE: "A user changed their own password.",
    AuditAction.VIEWER_MFA_ENROLL: "A user started enrolling in MFA.",
    AuditAction.VIEWER_MFA_CONFIRM: "A user confirmed their MFA enrollment.",
    AuditAction.SESSION_REVOKE: "A user's session was revoked.",
    AuditAction.ACCESS_KEY_DEACTIVATE: "An access key was deactivated.",
    AuditAction.ACCESS_KEY_ACTIVATE: "A deactivated access key was reactivated.",
    AuditAction.ACCESS_KEY_UPDATE: "An access key's name, description, scopes or expiry were changed.",
    AuditAction.BUSINESS_UNIT_SETTINGS_UPDATE: "A business unit's settings (feature switches) were changed.",
    AuditAction.BUSINESS_UNIT_CUSTOM_FIELDS_UPDATE: "A business unit's custom user fields were renamed.",
    AuditAction.SKILL_USERS_ADD: "Users were given a skill.",
    AuditAction.SKILL_USERS_SET_PROFICIENCY: "Users' proficiencies in a skill were changed.",
    AuditAction.SKILL_USERS_REMOVE: "A skill was removed from users.",
    AuditAction.WEBHOOK_UPDATE: "A webhook's URL, event types or description were "
    "changed, or it was turned off or on.",
    AuditAction.WEBHOOK_SECRET_ROTATE: "A webhook was given a new signing secret.",
}


class AuditTargetType(enum.StrEnum):
    """The kinds of object an audit event is about, as stored: the GraphQL type's name."""

    USER = "User"
    ACCESS_KEY = "AccessKey"
    BUSINESS_UNIT = "BusinessUnit"
    TEAM = "Team"
    QUEUE = "Queue"
    WORK_STREAM = "WorkStream"
    PRESENCE_STATUS = "PresenceStatus"
    USER_PROFILE = "UserProfile"
    SKILL = "Skill"
    SECURITY_PROFILE = "SecurityProfile"
    WEBHOOK = "Webhook"

    @property
    def description(self) -> str:
        return f"The event is about {_a(self.value)}."


def _checked(action: str, target: Any) -> tuple[str, str]:
    """The action and target type to store, refused loudly when the enums do not name them (a
    value the schema could not show)."""
    return AuditAction(action).value, AuditTargetType(type(target).__name__).value


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
    action, target_type = _checked(action, target)
    event = m.AuditEvent(
        business_unit_id=business_unit_id,
        actor_user_id=actor.principal.user_id,
        actor_username=actor.principal.username,
        action=action,
        target_type=target_type,
        target_id=getattr(target, "id", None),
        target_label=label if label is not None else _label(target),
        changes=changes or {},
        request_id=actor.request_id,
    )
    session.add(event)
    publication.audited(session)
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
            "action": checked[0],
            "target_type": checked[1],
            "target_id": getattr(target, "id", None),
            "target_label": _label(target),
            "changes": changes,
            "request_id": actor.request_id,
            "created_at": now,
        }
        for target, unit_id, changes in entries
        for checked in [_checked(action, target)]
    ]
    await session.execute(insert(m.AuditEvent), rows)
    publication.audited(session)
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
