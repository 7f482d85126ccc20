from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from ccgraph.db import models as m
from ccgraph.schema.node import node_type


@node_type(m.AuditEvent, "audit_event")
@strawberry.type(description="Who did what to whom, when, with the changed fields before and after.")
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    action: str = strawberry.field(description="e.g. user.create, user.update, queue.delete.")
    actor_username: str | None = strawberry.field(
        description="Who did it, by username when it was done; null for the system."
    )
    actor_id: relay.GlobalID | None = strawberry.field(description="Who did it; null for the system.")
    target_type: str
    target_id: relay.GlobalID | None = strawberry.field(
        description="The object it was done to; null when there is none."
    )
    target_label: str | None = strawberry.field(description="The target's name when it was written.")
    changes: JSON = strawberry.field(description='{"field": {"before": x, "after": y}}')
    request_id: str | None = strawberry.field(
        description="The ID of the request that did it (its X-Request-ID), to match logs."
    )
    created_at: datetime = strawberry.field(description="When it was done.")

    @classmethod
    def from_row(cls, row: m.AuditEvent) -> AuditEvent:
        return cls(
            id=row.id,
            action=row.action,
            actor_username=row.actor_username,
            actor_id=relay.GlobalID("User", str(row.actor_user_id)) if row.actor_user_id else None,
            target_type=row.target_type,
            target_id=relay.GlobalID(row.target_type, str(row.target_id)) if row.target_id else None,
            target_label=row.target_label,
            changes=cast(JSON, row.changes),
            request_id=row.request_id,
            created_at=row.created_at,
        )


@strawberry.input(description="Narrow the audit trail; every given condition must hold.")
class AuditEventFilter:
    action: str | None = None
    target_id: relay.GlobalID | None = strawberry.field(default=None, description="Any object's ID.")
    actor_id: relay.GlobalID | None = strawberry.field(default=None, description="Done by this user.")
    since: datetime | None = strawberry.field(default=None, description="Done at or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Done before this time.")
