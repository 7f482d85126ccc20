"""The audit trail; the root field of this domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import paged
from ccgraph.schema.audit import AuditEvent, AuditEventFilter
from ccgraph.schema.node import decode_id
from ccgraph.schema.permissions import requires
from ccgraph.schema.relay import Connection, numbered_pages
from ccgraph.services import audit
from ccgraph.services.pagination import PageArgs


@numbered_pages
async def audit_events(
    info: Info, page: PageArgs, filter: AuditEventFilter | None = None
) -> Connection[AuditEvent]:
    """Newest first."""
    f = filter or AuditEventFilter()
    target_type, target_id = decode_id("filter.targetId", f.target_id) if f.target_id else (None, None)
    actor = decode_id("filter.actorId", f.actor_id, "User")[1] if f.actor_id else None
    stmt = audit.audit_query(
        info.context.principal,
        audit.AuditFilter(
            action=f.action,
            target_type=target_type,
            target_id=target_id,
            actor_user_id=actor,
            since=f.since,
            until=f.until,
        ),
    )
    return await paged(info, stmt, audit.AUDIT_ORDER, page, AuditEvent)


@strawberry.type
class Query:
    audit_events = strawberry.field(
        resolver=audit_events,
        extensions=[requires(P.AUDIT_VIEW)],
        description="The audit trail, newest first.",
    )
