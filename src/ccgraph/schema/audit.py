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
    actor_username: str | None
    actor_id: relay.GlobalID | None
    target_type: str
    target_id: relay.GlobalID | None
    target_label: str | None = strawberry.field(description="The target's name when it was written.")
    changes: JSON = strawberry.field(description='{"field": {"before": x, "after": y}}')
    request_id: str | None
    created_at: datetime

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


@strawberry.input
class AuditEventFilter:
    action: str | None = None
    target_id: relay.GlobalID | None = strawberry.field(default=None, description="Any object's ID.")
    actor_id: relay.GlobalID | None = None
    since: datetime | None = None
    until: datetime | None = None
