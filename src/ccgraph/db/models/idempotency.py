"""Idempotency keys: a mutation's answer kept under the key its client sent, so that a retry
gets the first answer instead of writing again (services/idempotency.py). They are rows, so a
retry that reaches another worker finds them too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, BigIntPk, IdMixin, UtcDateTime, fk, utcnow

SESSION = 0  # `access_key_id` of a caller signed in with a token (a NULL would escape the unique key)


class IdempotencyKey(IdMixin, Base):
    """One key of one caller: in progress until `completed_at`, then the answer to replay.
    The body is sealed with CCGRAPH_SECRET_KEY: an answer may carry a secret shown once (an
    access key's)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "access_key_id", "key"),)

    # Who sent it: the user, and the access key they used (SESSION when signed in).
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)  # the unique key leads with it
    access_key_id: Mapped[int] = mapped_column(BigIntPk, default=SESSION)
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request, hex
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
