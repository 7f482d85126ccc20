from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, BigIntPk, IdMixin, UtcDateTime, fk, utcnow


class AuditEvent(IdMixin, Base):
    """Who did what to whom, when. Targets and actors are kept by value as well as by id,
    so the record outlives a deleted user."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_txid_id", "txid", "id"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    actor_user_id: Mapped[int | None] = mapped_column(BigIntPk)
    actor_username: Mapped[str | None] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(BigIntPk)
    target_label: Mapped[str | None] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # The writing transaction's id on PostgreSQL (a server default, `pg_current_xact_id()`, set by
    # migration 0011), 0 on SQLite and for rows older than it: the events feed reads in
    # (txid, id) order up to the oldest transaction still running, so that no event is skipped
    # (services/events.committed_after).
    txid: Mapped[int] = mapped_column(BigInteger, server_default="0")
