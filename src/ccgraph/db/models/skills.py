from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, UtcDateTime, VersionMixin, fk, utcnow

PROFICIENCY_MOST = 1
PROFICIENCY_LEAST = 20


class Skill(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    work_stream_id: Mapped[int | None] = fk("work_streams.id", ondelete="SET NULL", nullable=True)
    active: Mapped[bool] = mapped_column(default=True)


class UserSkill(Base):
    """A user's skill with its proficiency: 1 is the most proficient, 20 the least (NICE)."""

    __tablename__ = "user_skills"
    __table_args__ = (
        CheckConstraint(
            f"proficiency BETWEEN {PROFICIENCY_MOST} AND {PROFICIENCY_LEAST}",
            name="proficiency_range",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        BigIntPk, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        BigIntPk, ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    proficiency: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    skill: Mapped[Skill] = relationship(lazy="raise")
