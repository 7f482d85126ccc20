"""The subscriptions (over WebSocket, see ccgraph.websocket): what each follows; the broker, the
delivery-time checks and the socket are ccgraph.live's and ccgraph.websocket's."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from ccgraph.live import Ended
from ccgraph.schema.errors import bad_input
from ccgraph.schema.events import CatalogChangedEvent, UserChangedEvent, change_event
from ccgraph.schema.node import decode_id
from ccgraph.schema.permissions import signed_in
from ccgraph.schema.subscriptions import (
    CatalogKind,
    ImportProgress,
    SessionEndReason,
    UserChangedFilter,
    ViewerSessionEnded,
)
from ccgraph.services.errors import InputError
from ccgraph.services.events import Event, EventType
from ccgraph.services.pagination import MAX_PAGE_SIZE
from ccgraph.services.publication import IMPORT_ID, IMPORT_ID_RULE
from ccgraph.websocket import Interest, socket_of

# Looked up once an event a subscriber: EventType's properties split its value at every call.
_USER_TYPES = frozenset(t for t in EventType if t.is_user)
_SUBJECT_TYPE = {t: t.subject_type for t in EventType}


def _user_events(f: UserChangedFilter | None) -> Interest:
    f = f or UserChangedFilter()
    ids = [decode_id("filter.userIds", gid, "User")[1] for gid in f.user_ids or ()]
    units = [decode_id("filter.businessUnitIds", gid, "BusinessUnit")[1] for gid in f.business_unit_ids or ()]
    if len(ids) > MAX_PAGE_SIZE or len(units) > MAX_PAGE_SIZE:
        raise bad_input(InputError("filter", f"names more than {MAX_PAGE_SIZE} IDs"))
    if any(not t.is_user for t in f.types or ()):
        raise bad_input(InputError("filter.types", "may only name user events (USER_...)"))
    users, kinds, in_units = set(ids), set(f.types or ()), set(units)

    def wants(event: Event) -> bool:
        return (
            event.type in _USER_TYPES
            and (not users or event.subject_id in users)
            and (not kinds or event.type in kinds)
            and (not in_units or event.business_unit_id in in_units)
        )

    return Interest(events=wants, subjects=frozenset(users) if users else None)


async def user_changed(
    info: Info, filter: UserChangedFilter | None = None
) -> AsyncGenerator[UserChangedEvent, None]:
    interest = _user_events(filter)
    async for event in socket_of(info).follow(interest):
        yield change_event(event)  # type: ignore[misc]


async def catalog_changed(
    info: Info,
    kinds: Annotated[
        list[CatalogKind] | None,
        strawberry.argument(description="Only these kinds of object (empty or absent: every kind)."),
    ] = None,
) -> AsyncGenerator[CatalogChangedEvent, None]:
    types = {kind.value for kind in kinds or CatalogKind}

    def wants(event: Event) -> bool:
        return _SUBJECT_TYPE[event.type] in types

    async for event in socket_of(info).follow(Interest(events=wants)):
        yield change_event(event)  # type: ignore[misc]


# How a sign-in ended: by the event's audit action when one ended it, else by why it is refused.
_BY_ACTION = {
    "user.delete": SessionEndReason.USER_DELETED,
    "user.disable": SessionEndReason.USER_DISABLED,
    "user.passwordReset": SessionEndReason.PASSWORD_RESET,
    "viewer.passwordChange": SessionEndReason.PASSWORD_CHANGED,
    "user.sessionsRevokeAll": SessionEndReason.SESSION_REVOKED,
    "session.revoke": SessionEndReason.SESSION_REVOKED,
}
_BY_REFUSAL = {
    "TOKEN_EXPIRED": SessionEndReason.EXPIRED,
    "ACCESS_KEY_EXPIRED": SessionEndReason.EXPIRED,
    "USER_DISABLED": SessionEndReason.USER_DISABLED,
    "ACCESS_KEY_DEACTIVATED": SessionEndReason.ACCESS_KEY_REVOKED,
    "ACCESS_KEY_INVALID": SessionEndReason.ACCESS_KEY_REVOKED,
}


def _session_ended(ended: Ended) -> ViewerSessionEnded:
    reason = _BY_ACTION.get(ended.action or "") or _BY_REFUSAL.get(
        ended.reason, SessionEndReason.SESSION_REVOKED
    )
    event_id = strawberry.ID(str(ended.event.id)) if ended.event is not None else None
    return ViewerSessionEnded(reason=reason, code=ended.reason, event_id=event_id)


async def viewer_session_ended(info: Info) -> AsyncGenerator[ViewerSessionEnded, None]:
    async for ended in socket_of(info).follow(Interest(session_end=True)):
        yield _session_ended(ended)


async def import_progress(
    info: Info,
    import_id: Annotated[str, strawberry.argument(description="The `importId` given to `usersImport`.")],
) -> AsyncGenerator[ImportProgress, None]:
    if not IMPORT_ID.match(import_id):
        raise bad_input(InputError("importId", f"must be {IMPORT_ID_RULE}"))
    async for report in socket_of(info).follow(Interest(import_id=import_id)):
        yield ImportProgress.of(report)
        if report.finished:
            return


USER_CHANGED = (
    "A user you may read was created, updated, enabled, disabled or deleted, or their skills, "
    "profiles or credentials changed: pushed once committed, checked against your permissions and "
    "business unit as they are then (yourself always). Over WebSocket (graphql-transport-ws)."
)
CATALOG_CHANGED = (
    "An object of the catalog you may read was created, updated or deleted: pushed once committed, "
    "checked against your permissions and business unit as they are then. Over WebSocket."
)
SESSION_ENDED = (
    "Pushed once when the credentials this socket signed in with stop signing in (your session "
    "revoked, your password reset, you were disabled or deleted); the socket is then closed (4401)."
)
PROGRESS = (
    "How a running `usersImport` given this `importId` goes: after the file is checked and after each "
    "chunk of rows, then a last report (`finished`). For the user running it, or whoever reads the "
    "users of its business unit."
)


@strawberry.type(description="What can be followed as it changes: over WebSocket at /graphql.")
class Subscription:
    user_changed: AsyncGenerator[UserChangedEvent, None] = strawberry.subscription(
        resolver=user_changed, description=USER_CHANGED, extensions=[signed_in()]
    )
    catalog_changed: AsyncGenerator[CatalogChangedEvent, None] = strawberry.subscription(
        resolver=catalog_changed, description=CATALOG_CHANGED, extensions=[signed_in()]
    )
    viewer_session_ended: AsyncGenerator[ViewerSessionEnded, None] = strawberry.subscription(
        resolver=viewer_session_ended, description=SESSION_ENDED, extensions=[signed_in()]
    )
    import_progress: AsyncGenerator[ImportProgress, None] = strawberry.subscription(
        resolver=import_progress, description=PROGRESS, extensions=[signed_in()]
    )
