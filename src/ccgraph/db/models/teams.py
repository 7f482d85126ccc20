from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, IdMixin, TimestampMixin, VersionMixin, fk


class Team(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
