"""Live changes in the schema: the event vocabulary shared by the `events` feed, subscriptions and
webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.schema.enums import described
from ccgraph.schema.node import NODE_KINDS
from ccgraph.schema.payloads import FieldChange, as_field_changes
from ccgraph.schema.relay import PAGE_INFO, PageInfo
from ccgraph.services.authority import readable
from ccgraph.services.events import Event, EventType, FeedPage
from ccgraph.services.scope import can_see

if TYPE_CHECKING:
    from ccgraph.schema.users.types import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users.types")]

described(
    EventType,
    "What happened to an object: the type of an event in the `events` feed, a subscription or a "
    "webhook delivery (whose `type` is the lower-case form, e.g. `user.created`).",
    {t: t.description for t in EventType},
)


def _actor(event: Event) -> relay.GlobalID | None:
    return relay.GlobalID("User", str(event.actor_user_id)) if event.actor_user_id else None


async def _load_for_caller(info: Info, type_name: str, pk: int | None) -> Any:
    """The object an event is about as `node(id:)` shows it to the caller: through the request's
    loaders, null when it is gone, in a unit the caller does not see, or of a kind the caller
    does not read (the user themselves excepted, as `viewer`). No more than `node(id:)` shows:
    the type's own read guard and its fields' permissions apply as anywhere."""
    kind = NODE_KINDS.get(type_name)
    principal = info.context.principal
    if kind is None or pk is None or principal is None:
        return None
    if not (readable(principal, kind.permission) or (kind.self_readable and pk == info.context.viewer_id)):
        return None
    row = await getattr(info.context.loaders, kind.loader).load(pk)
    if row is None or not can_see(principal, kind.business_unit_id(row)):
        return None
    return kind.convert(row)


@strawberry.interface(
    description="A change to one object, as committed: what the `events` feed lists and the "
    "subscriptions push, each to whom may read the object it is about."
)
class ChangeEvent:
    event_id: strawberry.ID = strawberry.field(
        description="The event's ID (its audit event's number): the same in the feed, a subscription "
        "and a webhook delivery (`data.eventId`). The events of one write to several objects (a skill "
        "given to three users) share it, with the object's ID it tells an event apart; each has its "
        "own `cursor`."
    )
    cursor: str = strawberry.field(
        description="Where the event is in the log: give it as `after` to the `events` feed to go on "
        "from it (after a subscription was interrupted, say)."
    )
    type: EventType = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description="When the change committed its transaction.")
    actor_id: relay.GlobalID | None = strawberry.field(
        description="The user who made the change; null for the system."
    )
    business_unit_id: relay.GlobalID = strawberry.field(description="The business unit of the object.")
    event: strawberry.Private[Event]

    @strawberry.field(
        description="The fields that changed, before and after, named as in the mutation's input; "
        "references are global IDs; empty when nothing was recorded (a deletion, a password reset)."
    )
    def field_changes(self) -> list[FieldChange]:
        return as_field_changes(self.event.changes)

    @staticmethod
    def shared(event: Event) -> dict[str, Any]:
        return {
            "event_id": strawberry.ID(str(event.id)),
            "cursor": event.cursor,
            "type": event.type,
            "occurred_at": event.occurred_at,
            "actor_id": _actor(event),
            "business_unit_id": relay.GlobalID("BusinessUnit", str(event.business_unit_id)),
            "event": event,
        }


@strawberry.type(
    description="A user was created, updated, enabled, disabled or deleted, or their skills, profiles "
    "or credentials changed."
)
class UserChangedEvent(ChangeEvent):
    user_id: relay.GlobalID = strawberry.field(description="The user's ID (kept after they are deleted).")

    @strawberry.field(
        description="The user as they are now, as `node(id:)` shows them to you (effective settings "
        "included); null once deleted."
    )
    async def user(self, info: Info) -> LazyUser | None:
        return await _load_for_caller(info, "User", self.event.subject_id)


@strawberry.type(
    description="An object of the catalog (a user profile, queue, work stream, skill, team, presence "
    "status, security profile or business unit) was created, updated or deleted."
)
class CatalogChangedEvent(ChangeEvent):
    node_id: relay.GlobalID = strawberry.field(description="The object's ID (kept after it is deleted).")

    @strawberry.field(
        description="The object as it is now, as `node(id:)` shows it to you; null once deleted."
    )
    async def node(self, info: Info) -> relay.Node | None:
        return await _load_for_caller(info, self.event.subject_type, self.event.subject_id)


def change_event(event: Event) -> ChangeEvent:
    """The GraphQL object of an event (also the payload of the subscriptions)."""
    subject = relay.GlobalID(event.subject_type, str(event.subject_id))
    if event.type.is_user:
        return UserChangedEvent(user_id=subject, **ChangeEvent.shared(event))
    return CatalogChangedEvent(node_id=subject, **ChangeEvent.shared(event))


EVENT_TYPES = (UserChangedEvent, CatalogChangedEvent)


@strawberry.type(description="One event of the feed, with its cursor.")
class ChangeEventEdge:
    cursor: str = strawberry.field(description="Where the event is in the log: give it as `after`.")
    node: ChangeEvent = strawberry.field(description="The event.")


@strawberry.type(
    description="A page of the events feed, oldest first. Follow it with `after: cursor` until "
    "`pageInfo.hasNextPage` is false; then poll from `cursor`, or subscribe."
)
class ChangeEventConnection:
    edges: list[ChangeEventEdge] = strawberry.field(description="The page's events, each with its cursor.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    cursor: str = strawberry.field(
        description="Where to go on from: the last event's cursor, or, when the events read after "
        "it were not for you (or the page is empty), past them: give it as `after` next time."
    )

    @strawberry.field(description="The page's events, without their cursors.")
    def nodes(self) -> list[ChangeEvent]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: FeedPage, after: str | None) -> ChangeEventConnection:
        edges = [ChangeEventEdge(cursor=e.cursor, node=change_event(e)) for e in page.events]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                _cursor_at=lambda index: edges[index].cursor if edges else None,
            ),
            cursor=page.resume,
        )
