"""Webhook endpoints and their delivery logs as the API shows them (the signing secret only in
the payload that creates or rotates it), the inputs and payloads of their mutations, and the body
every delivery carries (`webhook_body`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.execution.prefetch import Related, needs
from ccgraph.schema import events as _events  # noqa: F401  (registers EventType)
from ccgraph.schema.descriptions import VALIDATE
from ccgraph.schema.enums import described
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import (
    USER_ERRORS,
    FieldChange,
    as_field_changes,
    changes_field,
    payload_description,
)
from ccgraph.schema.relay import Connection, nested_connection, nested_pages, paginated
from ccgraph.schema.users.connections import LazyUser
from ccgraph.services.events import Event, EventType
from ccgraph.services.pagination import PageArgs
from ccgraph.services.webhooks import KEEP, WebhookDeliveryStatus, WebhookTerms, message_id

described(
    WebhookDeliveryStatus,
    "Where one delivery to a webhook endpoint stands.",
    {s: s.description for s in WebhookDeliveryStatus},
)

URL = (
    "Where deliveries are POSTed: an http(s) URL (https advised) of at most 2,000 characters, whose "
    "host resolves to public addresses only (not loopback, private, link-local or multicast; "
    "CCGRAPH_WEBHOOKS_ALLOW_PRIVATE lifts this). Checked again before every delivery."
)
EVENTS = (
    "The types of event the endpoint is told of (at least one). Of those, it receives only the "
    "events its owner may see when they happen: the objects their permissions let them read, in "
    "the business units they see."
)
DESCRIPTION = "Notes for the people who manage the endpoint (up to 500 characters)."
DELIVERIES = nested_pages("webhook_deliveries")
OWNER = Related("user", lambda row: row.owner_user_id)


def webhook_body(event: Event) -> dict[str, Any]:
    """What a delivery POSTs for `event` (JSON): Standard Webhooks' `type`, `timestamp` and
    `data`, with the changed fields named and identified as the API names them."""
    subject = str(relay.GlobalID(event.subject_type, str(event.subject_id))) if event.subject_id else None
    return {
        "type": event.type.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "eventId": str(event.id),
            "cursor": event.cursor,  # the `events` feed's, to catch up from after time away
            "subjectId": subject,
            "businessUnitId": str(relay.GlobalID("BusinessUnit", str(event.business_unit_id))),
            "fieldChanges": [
                {"field": c.field, "before": c.before, "after": c.after}
                for c in as_field_changes(event.changes)
            ],
        },
    }


@strawberry.type(
    description="One event sent, or to be sent, to a webhook endpoint: its latest try. (Read through its "
    "webhook's `deliveries`, not by `node(id:)`.)"
)
class WebhookDelivery(relay.Node):
    id: relay.NodeID[int]
    message_id: str = strawberry.field(
        description="The `webhook-id` header it is sent with: the same on every retry, so a receiver "
        "drops what it already has."
    )
    event_id: strawberry.ID = strawberry.field(
        description="The event's id: the `data.eventId` of the body, and a cursor of the `events` feed."
    )
    type: EventType = strawberry.field(description="The event's type.")
    status: WebhookDeliveryStatus = strawberry.field(description="Delivered, failing or not tried yet.")
    attempts: int = strawberry.field(description="How many times it was tried.")
    last_response_code: int | None = strawberry.field(
        description="The HTTP status of the last try; null when the endpoint did not answer (or untried)."
    )
    last_error: str | None = strawberry.field(description="Why the last try failed; null when it did not.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null once delivered."
    )
    delivered_at: datetime | None = strawberry.field(description="When the endpoint answered 2xx.")
    created_at: datetime = strawberry.field(description="When the event was queued for the endpoint.")

    @classmethod
    def from_row(cls, row: Any) -> WebhookDelivery:
        return cls(
            id=row.id,
            message_id=message_id(row),
            event_id=strawberry.ID(str(row.event_id)),
            type=EventType(row.event_type),
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            last_response_code=row.last_response_code,
            last_error=row.last_error,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=None if row.delivered_at else row.next_attempt_at,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@node_type(m.Webhook, "webhook")
@strawberry.type(
    description="Where a partner is told of changes, signed as Standard Webhooks says. The signing "
    "secret is never shown again after webhookCreate (or webhookSecretRotate)."
)
class Webhook(relay.Node):
    id: relay.NodeID[int]
    url: str = strawberry.field(description=URL)
    description: str = strawberry.field(description=DESCRIPTION + " Empty when none was given.")
    events: list[EventType] = strawberry.field(description=EVENTS)
    active: bool = strawberry.field(
        description="False once turned off (by webhookUpdate, or after 24 hours of failed deliveries): "
        "events still queue for it, and are delivered when it is turned on again."
    )
    disabled_reason: str | None = strawberry.field(description="Why it was turned off; null when active.")
    failing_since: datetime | None = strawberry.field(
        description="Since when every delivery has failed; null when the last one succeeded. After 24 "
        "hours the endpoint is turned off and the unit's webhook managers are mailed."
    )
    owner_user_id: strawberry.Private[int]
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")

    @strawberry.field(
        description="Who created it: it is told of what this user may see.", metadata=needs(OWNER)
    )
    def owner(self, info: Info) -> LazyUser | None:
        from ccgraph.schema.users.types import User

        return OWNER.get(info, self, User.from_row)

    @strawberry.field(description="Its delivery log, newest first.", metadata=needs(*DELIVERIES))
    @paginated
    def deliveries(self, info: Info, page: PageArgs) -> Connection[WebhookDelivery]:
        return nested_connection(info, self, DELIVERIES, Connection, WebhookDelivery.from_row, page=page)

    @classmethod
    def from_row(cls, row: Any) -> Webhook:
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            events=[EventType(t) for t in row.event_types],
            active=row.active,
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
            owner_user_id=row.owner_user_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _given(value: object) -> object:
    return KEEP if value is UNSET else value


@strawberry.input(description="A new webhook endpoint: where, and of which events.")
class WebhookCreateInput:
    url: str = strawberry.field(description=URL)
    events: list[EventType] = strawberry.field(description=EVENTS)
    description: str | None = strawberry.field(default=None, description=DESCRIPTION)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)

    def terms(self) -> WebhookTerms:
        return WebhookTerms(url=self.url, event_types=self.events, description=self.description)


@strawberry.input(description="Change a webhook endpoint; what is left out is kept.")
class WebhookUpdateInput:
    id: relay.GlobalID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=UNSET, description=URL)
    events: list[EventType] | None = strawberry.field(default=UNSET, description=EVENTS)
    description: str | None = strawberry.field(default=UNSET, description=DESCRIPTION)
    active: bool | None = strawberry.field(
        default=UNSET,
        description="False turns it off (events queue); true turns it on again, its failures forgotten, "
        "and what queued is delivered.",
    )
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)

    def terms(self) -> WebhookTerms:
        return WebhookTerms(
            url=KEEP if self.url in (UNSET, None) else self.url,
            event_types=KEEP if self.events in (UNSET, None) else self.events,
            description=_given(self.description),
            active=KEEP if self.active in (UNSET, None) else self.active,
        )


@strawberry.input(description="One webhook endpoint, by ID.")
class WebhookRefInput:
    id: relay.GlobalID = strawberry.field(description="The endpoint.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.type(description="A webhook endpoint and, this once, its signing secret.")
class WebhookCreatePayload:
    webhook: Webhook | None = strawberry.field(description="The endpoint; null when refused.")
    signing_secret: str | None = strawberry.field(
        description="Shown once: store it now, it cannot be read again. `whsec_` and base64, as Standard "
        "Webhooks libraries take it to verify `webhook-signature`. Null when refused or with `validateOnly`."
    )
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description=payload_description("webhook endpoint"))
class WebhookPayload:
    webhook: Webhook | None = strawberry.field(description="The endpoint; null when refused.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()
