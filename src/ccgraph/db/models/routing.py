"""What routing uses: queues, work streams (channels) and presence statuses."""

from __future__ import annotations

from sqlalchemy import Enum, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, IdMixin, TimestampMixin, VersionMixin, fk
from ccgraph.enums import BaseStatus, Channel


class WorkStream(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "work_streams"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=20))


class Queue(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")


class PresenceStatus(IdMixin, TimestampMixin, VersionMixin, Base):
    """A presence status; custom ones map to one of the base statuses."""

    __tablename__ = "presence_statuses"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    base_status: Mapped[BaseStatus] = mapped_column(Enum(BaseStatus, native_enum=False, length=20))
    is_custom: Mapped[bool] = mapped_column(default=True)
