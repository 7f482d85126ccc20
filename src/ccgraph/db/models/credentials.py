"""Sign-in sessions and partner access keys. Only hashes of their secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, IdMixin, UtcDateTime, fk, utcnow


class Session(IdMixin, Base):
    __tablename__ = "sessions"

    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    # A token issued to an access key (OAuth client credentials): it lives and dies with the
    # key, and acts with the key's scopes narrowed to its own.
    access_key_id: Mapped[int | None] = fk("access_keys.id", ondelete="CASCADE", nullable=True)
    scopes: Mapped[list[str] | None] = mapped_column(JSON)


class AccessKey(IdMixin, Base):
    __tablename__ = "access_keys"

    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_from: Mapped[str | None] = mapped_column(String(45))
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    description: Mapped[str | None] = mapped_column(String(500))
    # Permission names the key may use, of its user's (None: all of them); checked at each request
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
