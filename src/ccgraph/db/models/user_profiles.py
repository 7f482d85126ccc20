from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, VersionMixin, fk

if TYPE_CHECKING:
    from ccgraph.db.models.routing import Queue, WorkStream

user_profile_queues = Table(
    "user_profile_queues",
    Base.metadata,
    Column(
        "user_profile_id",
        BigIntPk,
        ForeignKey("user_profiles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("queue_id", BigIntPk, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True, index=True),
)

user_profile_work_streams = Table(
    "user_profile_work_streams",
    Base.metadata,
    Column(
        "user_profile_id",
        BigIntPk,
        ForeignKey("user_profiles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "work_stream_id",
        BigIntPk,
        ForeignKey("work_streams.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class UserProfile(IdMixin, TimestampMixin, VersionMixin, Base):
    """A template of routing properties that many users inherit (a routing profile)."""

    __tablename__ = "user_profiles"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None]
    default_presence_id: Mapped[int | None] = fk("presence_statuses.id", ondelete="SET NULL", nullable=True)
    # Maximum simultaneous contacts per channel, e.g. {"CHAT": 3, "EMAIL": 5}.
    channel_concurrency: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    queues: Mapped[list[Queue]] = relationship(secondary="user_profile_queues", lazy="raise")
    work_streams: Mapped[list[WorkStream]] = relationship(secondary="user_profile_work_streams", lazy="raise")
