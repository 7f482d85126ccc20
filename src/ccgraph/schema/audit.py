from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from ccgraph.db import models as m
from ccgraph.schema.enums import described
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import FieldChange, as_field_changes
from ccgraph.services.audit import AuditAction, AuditTargetType

described(
    AuditAction,
    "What an audit event records: the object's kind and the verb (stored as `user.create`...).",
    {a: a.description for a in AuditAction},
)
described(
    AuditTargetType,
    "The kind of object an audit event is about; its `targetId` is an ID of this type.",
    {t: t.description for t in AuditTargetType},
)


@node_type(m.AuditEvent, "audit_event")
@strawberry.type(description="Who did what to whom, when, with the changed fields before and after.")
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    action: AuditAction = strawberry.field(description="What was done, to what kind of object.")
    actor_username: str | None = strawberry.field(
        description="Who did it, by username when it was done; null for the system."
    )
    actor_id: relay.GlobalID | None = strawberry.field(description="Who did it; null for the system.")
    target_type: AuditTargetType = strawberry.field(description="The kind of object it was done to.")
    target_id: relay.GlobalID | None = strawberry.field(
        description="The object it was done to; null when there is none."
    )
    target_label: str | None = strawberry.field(description="The target's name when it was written.")
    changes: JSON = strawberry.field(
        description='{"column": {"before": x, "after": y}}, keyed by database column with raw IDs.',
        deprecation_reason="Use fieldChanges: GraphQL field names and global IDs.",
    )
    request_id: str | None = strawberry.field(
        description="The ID of the request that did it (its X-Request-ID), to match logs."
    )
    created_at: datetime = strawberry.field(description="When it was done.")

    @strawberry.field(
        description="The fields the action changed, before and after, named as in the mutation's "
        "input; references are global IDs; empty when nothing was recorded."
    )
    def field_changes(self) -> list[FieldChange]:
        return as_field_changes(cast(dict[str, Any], self.changes))

    @classmethod
    def from_row(cls, row: m.AuditEvent) -> AuditEvent:
        return cls(
            id=row.id,
            action=AuditAction(row.action),
            actor_username=row.actor_username,
            actor_id=relay.GlobalID("User", str(row.actor_user_id)) if row.actor_user_id else None,
            target_type=AuditTargetType(row.target_type),
            target_id=relay.GlobalID(row.target_type, str(row.target_id)) if row.target_id else None,
            target_label=row.target_label,
            changes=cast(JSON, row.changes),
            request_id=row.request_id,
            created_at=row.created_at,
        )


@strawberry.input(description="Narrow the audit trail; every given condition must hold.")
class AuditEventFilter:
    action: AuditAction | None = strawberry.field(default=None, description="Only this action.")
    target_id: relay.GlobalID | None = strawberry.field(default=None, description="Any object's ID.")
    actor_id: relay.GlobalID | None = strawberry.field(default=None, description="Done by this user.")
    since: datetime | None = strawberry.field(default=None, description="Done at or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Done before this time.")
