from __future__ import annotations

from strawberry.types import Info

from ccgraph.resolvers.users import paged
from ccgraph.schema.audit import AuditEvent, AuditEventFilter
from ccgraph.schema.node import decode_id
from ccgraph.schema.relay import Connection, page_args
from ccgraph.services import audit


async def audit_events(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: AuditEventFilter | None = None,
) -> Connection[AuditEvent]:
    """Newest first."""
    args = page_args(first, after, last, before)
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
    return await paged(info, stmt, audit.AUDIT_ORDER, args, AuditEvent)
