from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, IdMixin, UtcDateTime, utcnow


class LoginAttempt(IdMixin, Base):
    """Every sign-in attempt by username (known or not): the lockout counts them here, so it
    holds across workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "attempted_at"),)

    username: Mapped[str] = mapped_column(String(150))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))
