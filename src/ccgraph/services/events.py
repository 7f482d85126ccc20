"""Live changes: what the audit trail's rows mean to a client that follows them.

Every write records audit events in its own transaction (`services.audit`), so the audit table is
the event log: an event's id is its audit row's id, it exists exactly when its change committed,
and the ids give a cursor to follow (the `events` feed, subscriptions, webhooks). This module
turns one audit row into the typed events clients see: one per object it is about (a skill given
to three users is three `user.skillsChanged` events, one per user, all with the row's id).
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, literal, literal_column, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.services import authority
from ccgraph.services.audit import AuditAction as A
from ccgraph.services.audit import AuditTargetType as T
from ccgraph.services.errors import InputError
from ccgraph.services.pagination import MAX_PAGE_SIZE
from ccgraph.services.scope import can_see, visible


class EventType(enum.StrEnum):
    """What happened, as clients name it (the Standard Webhooks `type`): `<object>.<what>`."""

    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_ENABLED = "user.enabled"
    USER_DISABLED = "user.disabled"
    USER_DELETED = "user.deleted"
    USER_SKILLS_CHANGED = "user.skillsChanged"
    USER_PROFILE_CHANGED = "user.profileChanged"
    # A password reset, an MFA secret cleared, sessions revoked: the user may have been signed out.
    USER_CREDENTIALS_CHANGED = "user.credentialsChanged"
    USER_PROFILE_CREATED = "userProfile.created"
    USER_PROFILE_UPDATED = "userProfile.updated"
    USER_PROFILE_DELETED = "userProfile.deleted"
    QUEUE_CREATED = "queue.created"
    QUEUE_UPDATED = "queue.updated"
    QUEUE_DELETED = "queue.deleted"
    WORK_STREAM_CREATED = "workStream.created"
    WORK_STREAM_UPDATED = "workStream.updated"
    WORK_STREAM_DELETED = "workStream.deleted"
    SKILL_CREATED = "skill.created"
    SKILL_UPDATED = "skill.updated"
    SKILL_DELETED = "skill.deleted"
    TEAM_CREATED = "team.created"
    TEAM_UPDATED = "team.updated"
    TEAM_DELETED = "team.deleted"
    PRESENCE_STATUS_CREATED = "presenceStatus.created"
    PRESENCE_STATUS_UPDATED = "presenceStatus.updated"
    PRESENCE_STATUS_DELETED = "presenceStatus.deleted"
    SECURITY_PROFILE_CREATED = "securityProfile.created"
    SECURITY_PROFILE_UPDATED = "securityProfile.updated"
    SECURITY_PROFILE_DELETED = "securityProfile.deleted"
    BUSINESS_UNIT_CREATED = "businessUnit.created"
    BUSINESS_UNIT_UPDATED = "businessUnit.updated"

    @property
    def description(self) -> str:
        stem, what = self.value.split(".")
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", stem).lower()
        return _DESCRIPTIONS.get(self) or f"A {words} was {what}."

    @property
    def subject_type(self) -> str:
        """The GraphQL type of the object the event is about ("User", "Queue", ...)."""
        stem = self.value.split(".")[0]
        return stem[:1].upper() + stem[1:]

    @property
    def is_user(self) -> bool:
        return self.subject_type == T.USER.value


_DESCRIPTIONS = {
    EventType.USER_SKILLS_CHANGED: "A user's skills or proficiencies changed.",
    EventType.USER_PROFILE_CHANGED: "A user was given another user profile or security profiles.",
    EventType.USER_CREDENTIALS_CHANGED: "A user's password was reset or changed, their MFA secret cleared or "
    "confirmed, or sessions of theirs revoked.",
}

# The catalog's object types, in the order the schema lists them.
CATALOG_TYPES: tuple[str, ...] = (
    T.USER_PROFILE,
    T.QUEUE,
    T.WORK_STREAM,
    T.SKILL,
    T.TEAM,
    T.PRESENCE_STATUS,
    T.SECURITY_PROFILE,
    T.BUSINESS_UNIT,
)

_USER_EVENTS: dict[str, EventType] = {
    A.USER_CREATE: EventType.USER_CREATED,
    A.USER_COPY: EventType.USER_CREATED,
    A.USER_UPDATE: EventType.USER_UPDATED,
    A.USER_ENABLE: EventType.USER_ENABLED,
    A.USER_DISABLE: EventType.USER_DISABLED,
    A.USER_DELETE: EventType.USER_DELETED,
    A.USER_ASSIGN_PROFILE: EventType.USER_PROFILE_CHANGED,
    A.USER_SKILLS_ADD: EventType.USER_SKILLS_CHANGED,
    A.USER_SKILLS_SET_PROFICIENCY: EventType.USER_SKILLS_CHANGED,
    A.USER_SKILLS_REMOVE: EventType.USER_SKILLS_CHANGED,
    A.USER_PASSWORD_RESET: EventType.USER_CREDENTIALS_CHANGED,
    A.USER_MFA_CLEAR: EventType.USER_CREDENTIALS_CHANGED,
    A.USER_SESSIONS_REVOKE_ALL: EventType.USER_CREDENTIALS_CHANGED,
    A.SESSION_REVOKE: EventType.USER_CREDENTIALS_CHANGED,
    A.VIEWER_PASSWORD_CHANGE: EventType.USER_CREDENTIALS_CHANGED,
    A.VIEWER_MFA_CONFIRM: EventType.USER_CREDENTIALS_CHANGED,
}
# A skill given to, re-rated for or taken from users: a skills change of each user it names.
_SKILL_USERS = {A.SKILL_USERS_ADD, A.SKILL_USERS_SET_PROFICIENCY, A.SKILL_USERS_REMOVE}
_VERBS = {"create": "created", "update": "updated", "delete": "deleted", "settingsUpdate": "updated",
          "customFieldsUpdate": "updated"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    """One change to one object, as committed. `id` is its audit row's (shared by the events of
    one row, told apart by `index`, their place in it); `changed` names the changed fields as the
    audit row keys them."""

    id: int
    type: EventType
    occurred_at: datetime
    business_unit_id: int
    subject_id: int | None
    changes: dict[str, Any]
    actor_user_id: int | None
    request_id: str | None
    index: int = 0

    @property
    def cursor(self) -> str:
        """Where the event is in the log, for the `events` feed's `after`."""
        return cursor_of(self.id, self.index)

    @property
    def subject_type(self) -> str:
        return self.type.subject_type

    @property
    def changed(self) -> list[str]:
        return sorted(self.changes)


def event_type_of(action: str) -> EventType | None:
    """The event an audit action is, when clients are told of it (access keys and MFA
    enrolment steps are not: they are the caller's own credentials)."""
    if action in _USER_EVENTS:
        return _USER_EVENTS[action]
    if action in _SKILL_USERS:
        return EventType.USER_SKILLS_CHANGED
    target, _, verb = action.partition(".")
    if verb not in _VERBS:
        return None
    try:
        return EventType(f"{target}.{_VERBS[verb]}")
    except ValueError:
        return None


def events_of(row: m.AuditEvent) -> list[Event]:
    """The events one audit row is; none for actions clients are not told of."""
    kind = event_type_of(row.action)
    if kind is None:
        return []

    def one(subject_id: int | None, changes: dict[str, Any], index: int = 0) -> Event:
        return Event(
            id=row.id,
            type=kind,
            occurred_at=row.created_at,
            business_unit_id=row.business_unit_id,
            subject_id=subject_id,
            changes=changes,
            actor_user_id=row.actor_user_id,
            request_id=row.request_id,
            index=index,
        )

    if row.action in _SKILL_USERS:
        split = _per_user(row.changes, row.target_id)
        return [one(user_id, {"skills": change}, i) for i, (user_id, change) in enumerate(split)]
    return [one(row.target_id, dict(row.changes or {}))]


def _per_user(changes: dict[str, Any], skill_id: int | None) -> list[tuple[int, dict[str, Any]]]:
    """A skill's `users` change ({before: [[user, proficiency]...], after: [...]}) split into each
    user's `skills` change, as a user's own skill write records it."""
    users = changes.get("users") or {}
    before = {u: p for u, p in users.get("before") or []}
    after = {u: p for u, p in users.get("after") or []}
    found = []
    for user_id in sorted(set(before) | set(after)):
        if before.get(user_id) != after.get(user_id):
            one = {
                "before": [[skill_id, before[user_id]]] if user_id in before else [],
                "after": [[skill_id, after[user_id]]] if user_id in after else [],
            }
            found.append((user_id, one))
    return found


# -- following the log without gaps -----------------------------------------------------------


async def position_of(session: AsyncSession, after_id: int) -> tuple[int, int]:
    """Where the event `after_id` stands in the log's order: (txid, id). An id no longer there
    (its unit was deleted) stands just after the nearest event before it; 0 is the beginning."""
    if after_id <= 0:
        return (0, 0)
    txid = (await session.execute(select(m.AuditEvent.txid).where(m.AuditEvent.id == after_id))).scalar()
    if txid is None:
        nearest = select(m.AuditEvent.txid).where(m.AuditEvent.id < after_id)
        txid = (await session.execute(nearest.order_by(m.AuditEvent.id.desc()).limit(1))).scalar()
    return (txid or 0, after_id)


async def log_head(session: AsyncSession) -> tuple[int, int] | None:
    """The last event that nothing uncommitted can precede, as (txid, id): every event that
    commits from now on comes after it in the log. None when the log is empty."""
    stmt = select(m.AuditEvent.txid, m.AuditEvent.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(m.AuditEvent.txid < _horizon())
    found = (
        await session.execute(stmt.order_by(m.AuditEvent.txid.desc(), m.AuditEvent.id.desc()).limit(1))
    ).first()
    return (found[0], found[1]) if found is not None else None


# The oldest transaction that may still commit an event, as of the reading statement's own
# snapshot: the oldest one running (`pg_snapshot_xip`), leaving out those seen running in another
# database of the server (their database never changes, and they cannot write this one's audit
# trail), so that a long transaction elsewhere on a shared server holds nothing back. A running
# transaction not seen in pg_stat_activity (ended since, or hidden from this role) counts. None
# running: the snapshot's xmax, past every transaction begun before it. (pg_stat_activity shows
# 32-bit xids; two running transactions 2^32 apart cannot be.)
_HORIZON = """(
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
  FROM pg_snapshot_xip(pg_current_snapshot()) AS x
  WHERE NOT EXISTS (
    SELECT 1 FROM pg_stat_activity AS a
    WHERE a.datname <> current_database() AND a.backend_xid::text::bigint = x::text::bigint % 4294967296
  )
)"""


def _horizon() -> ColumnElement[int]:
    """Every row whose txid is below it has committed, or never will (PostgreSQL)."""
    return literal_column(_HORIZON, BigInteger())


async def committed_after(
    session: AsyncSession, after_id: int, limit: int, *where: ColumnElement[bool]
) -> list[m.AuditEvent]:
    """The audit rows that follow the event `after_id` in the log, at most `limit`, in the log's
    order, and only rows that nothing still uncommitted can come before: a reader that goes on
    from the last row it got never skips one.

    On PostgreSQL an id is taken from the sequence when its row is written, not when it commits:
    a transaction holding id 10 may commit after the one holding 11, and a reader that went on
    "after 11" would never see 10. So the log is ordered by the writing transaction's id, then
    the row's (`txid`, migration 0011), and read only below the oldest transaction still running
    in this database (`_HORIZON`, of the reading statement's own snapshot): a row committed later
    has a txid at least that, so it comes after everything read. A long write transaction on the
    database (a large import) holds the horizon back until it ends; the events behind it then
    come in one go. On SQLite one writer
    at a time commits, in id order, and every `txid` is 0: the log's order is the ids'.

    Since the order is not always the ids', a reader's cursor is the id of the LAST row it got,
    not the greatest id it has seen. `where` narrows the rows (a unit, some actions): the rows
    left out are skipped, never the ones that come later."""
    position = tuple_(*(literal(v, BigInteger) for v in await position_of(session, after_id)))
    stmt = select(m.AuditEvent).where(tuple_(m.AuditEvent.txid, m.AuditEvent.id) > position, *where)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(m.AuditEvent.txid < _horizon())
    stmt = stmt.order_by(m.AuditEvent.txid, m.AuditEvent.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


# -- who may see an event ---------------------------------------------------------------------

# The permission that guards reading each kind of object an event is about, by type name.
_READ_BY_TYPE: dict[str, Permission] = {model.__name__: p for model, p in authority.READ.items()}


def may_see(principal: Principal | None, event: Event) -> bool:
    """Whether `principal` is told of `event`: exactly when it may read the object the event is
    about (authority's reading rule: the permission guarding its kind, a user always reading
    themselves) and the event's business unit is one it sees. The event's own unit decides, so
    a deleted user's events stay in their unit. Checked per event, at reading or delivery time,
    with the principal as it is then: a permission revoked stops what follows."""
    if principal is None or not can_see(principal, event.business_unit_id):
        return False
    if event.type.is_user and event.subject_id is not None and event.subject_id == principal.user_id:
        return True
    permission = _READ_BY_TYPE.get(event.subject_type)
    return permission is not None and authority.readable(principal, permission)


# -- the feed: what a caller was told of, after a cursor -----------------------------------------


def cursor_of(event_id: int, index: int = 0) -> str:
    """An event's place in the log as an opaque cursor: its row's id and its place in the row."""
    return base64.urlsafe_b64encode(f"event:{event_id}:{index}".encode()).decode()


def decode_cursor(argument: str, cursor: str) -> tuple[int, int]:
    try:
        kind, event_id, index = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        found = (int(event_id), int(index))
        if kind != "event" or not (0 <= found[0] < 2**63 and -1 <= found[1] < 2**31):
            raise ValueError
        return found
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InputError(argument, "is not a cursor of the events feed") from exc


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[Event]
    has_next_page: bool
    # Where to go on from: the last event's place, or past the last row read when the events
    # after it were not for this caller (so that a caller always makes way through the log).
    resume: str


# Each action's event type, for the actions that are events.
_ACTIONS: dict[str, EventType] = {
    a.value: kind for a in A for kind in [event_type_of(a.value)] if kind is not None
}
# Rows read at most for one page: a caller to whom few events are told goes on from `resume`.
SCAN_LIMIT = 2000


def _told(principal: Principal, types: frozenset[EventType] | None) -> list[ColumnElement[bool]]:
    """The rows that may hold events `principal` is told of (`may_see` decides each event):
    the actions of the kinds it reads, its own user's, and the skills given to users (one row,
    many users' events), in the units it sees."""
    readable_kinds = {t for t in _READ_BY_TYPE if authority.readable(principal, _READ_BY_TYPE[t])}
    wanted = {a: k for a, k in _ACTIONS.items() if types is None or k in types}
    everyone = [a for a, k in wanted.items() if k.subject_type in readable_kinds or a in _SKILL_USERS]
    own = [a for a, k in wanted.items() if k.is_user and a not in everyone]
    rows = or_(
        m.AuditEvent.action.in_(everyone),
        and_(m.AuditEvent.action.in_(own), m.AuditEvent.target_id == principal.user_id),
    )
    return [rows, visible(principal, m.AuditEvent.business_unit_id)]


async def feed(
    session: AsyncSession,
    principal: Principal,
    after: str | None,
    first: int,
    types: frozenset[EventType] | None = None,
) -> FeedPage:
    """The events after the cursor `after` (from the log's start without one) that `principal`
    is told of (`may_see`), at most `first` (0 to MAX_PAGE_SIZE), of `types` when given: what a
    client that was away catches up with, page by page, without gaps (`committed_after`)."""
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InputError("first", f"must be between 0 and {MAX_PAGE_SIZE}, got {first}")
    event_id, index = decode_cursor("after", after) if after is not None else (0, -1)
    head = await log_head(session)  # first: nothing can commit before it once it is read
    found: list[Event] = []
    resume = (event_id, index)  # the last event gone through, told or not
    at = await position_of(session, event_id)  # and where it stands in the log

    def take(row: m.AuditEvent, after_index: int = -1) -> bool:
        """Go through the row's events after `after_index`, keeping those for the caller;
        whether the page is full (one more than asked: so there is a next page)."""
        nonlocal resume, at
        for event in events_of(row):
            if event.index <= after_index:
                continue
            if (types is None or event.type in types) and may_see(principal, event):
                found.append(event)
                if len(found) > first:
                    return True
            resume = (event.id, event.index)
        resume, at = (row.id, -1), (row.txid, row.id)  # the whole row: (id, -1) goes on after it
        return False

    where = _told(principal, types)
    if event_id and index >= 0:  # the rest of the row the cursor stands in
        stmt = select(m.AuditEvent).where(m.AuditEvent.id == event_id, *where)
        row = (await session.execute(stmt)).scalar()
        if row is not None and take(row, index):
            return _page(found, first, resume, more=True)
    batch, scanned = first + 1, 0
    while scanned < SCAN_LIMIT:
        rows = await committed_after(session, resume[0], batch, *where)
        for row in rows:
            if take(row):
                return _page(found, first, resume, more=True)
        scanned += len(rows)
        if len(rows) < batch:
            # The log's end, for now: every row up to `head` that is for the caller was read,
            # so the next page starts there, not from the rows that were not for the caller.
            if head is not None and head > at:
                resume = (head[1], -1)
            return _page(found, first, resume, more=False)
    return _page(found, first, resume, more=True)


def _page(found: list[Event], first: int, resume: tuple[int, int], *, more: bool) -> FeedPage:
    """`more`: the page was full, or the reading stopped at SCAN_LIMIT rows."""
    events = found[:first]
    if len(found) > first and events:
        resume = (events[-1].id, events[-1].index)
    return FeedPage(events=events, has_next_page=more, resume=cursor_of(*resume))
