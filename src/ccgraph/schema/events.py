"""Live changes in the schema: the event vocabulary shared by the `events` feed, subscriptions and
webhooks."""

from __future__ import annotations

from ccgraph.schema.enums import described
from ccgraph.services.events import EventType

described(
    EventType,
    "What happened to an object: the type of an event in the `events` feed, a subscription or a "
    "webhook delivery (whose `type` is the lower-case form, e.g. `user.created`).",
    {t: t.description for t in EventType},
)
