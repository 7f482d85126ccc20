"""The events feed: the root field of live changes that a client polls (subscriptions push the
same events)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from ccgraph.schema.events import ChangeEventConnection
from ccgraph.schema.permissions import signed_in, signed_in_principal
from ccgraph.services import events
from ccgraph.services.events import EventType
from ccgraph.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


async def events_feed(
    info: Info,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="Go on after this event (an event's `cursor`, or the connection's `cursor`); "
            "from the oldest event without it."
        ),
    ] = None,
    first: Annotated[
        int | None,
        strawberry.argument(
            description=f"How many events to return: 0 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} when "
            "not given."
        ),
    ] = None,
    types: Annotated[
        list[EventType] | None,
        strawberry.argument(description="Only events of these types; all types when not given."),
    ] = None,
) -> ChangeEventConnection:
    principal = signed_in_principal(info)
    async with info.context.db() as session:
        page = await events.feed(
            session,
            principal,
            after,
            DEFAULT_PAGE_SIZE if first is None else first,
            frozenset(types) if types is not None else None,
        )
    return ChangeEventConnection.of(page, after)


@strawberry.type
class Query:
    events = strawberry.field(
        resolver=events_feed,
        extensions=[signed_in()],
        description="Every change committed after a cursor, oldest first, that you may read: the users "
        "(USERS_VIEW, or yourself) and the catalog objects (each kind's view permission) of the "
        "business units you see. An integrator that was offline catches up from its last cursor "
        "without missing a change; the same events as the subscriptions and webhooks.",
    )
