"""Webhooks: a partner's endpoint (a URL), told of the changes its owner may see, and the durable
outbox of what is to be (or was) delivered to it. The signing secret is kept encrypted (SecretBox), as
the server must read it back to sign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, UtcDateTime, fk, utcnow


class Webhook(IdMixin, TimestampMixin, Base):
    """Where to POST events of the chosen types. `cursor` is the id of the last audit event fanned
    out into deliveries for it: the events after it are still to be looked at."""

    __tablename__ = "webhooks"

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    # The endpoint sees what its owner may see, checked at every fan-out; it goes with its owner.
    owner_user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_sealed: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    cursor: Mapped[int] = mapped_column(BigIntPk, default=0, server_default="0")
    # When its deliveries started failing without a success since (None: the last one succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookDelivery(IdMixin, Base):
    """One event to one webhook, retried until delivered. An event that names no object has
    subject_id 0, so that (webhook, event, subject) is unique and a fan-out repeated by a second
    worker inserts nothing twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", "subject_id"),
        # The delivery log, newest first, a page at a time.
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    )

    webhook_id: Mapped[int] = fk("webhooks.id", ondelete="CASCADE", index=False)
    event_id: Mapped[int] = mapped_column(BigIntPk)
    subject_id: Mapped[int] = mapped_column(BigIntPk, default=0, server_default="0")
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="PENDING", server_default="PENDING")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # When it is next due; while a sender holds it, the end of its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_response_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
