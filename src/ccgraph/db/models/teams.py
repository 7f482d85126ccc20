from __future__ import annotations

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, IdMixin, TimestampMixin, VersionMixin, fk


class Team(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("business_unit_id", "name"),
        # As for users: the identity provider's id of the group, unique within the tenant.
        Index("ix_teams_business_unit_id_external_id", "business_unit_id", "external_id", unique=True),
    )

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # The id the identity provider that provisions the team as a SCIM Group gave it.
    external_id: Mapped[str | None] = mapped_column(String(255))
