"""Automatic persisted queries (Apollo's protocol): a document kept under its SHA-256, so
that a client sends the hash instead of the text. They are rows, so every worker finds a
document any worker was given."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, UtcDateTime, utcnow


class PersistedQuery(Base):
    __tablename__ = "persisted_queries"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex, of the document's text
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
