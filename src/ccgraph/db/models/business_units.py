from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, VersionMixin


class BusinessUnit(IdMixin, TimestampMixin, VersionMixin, Base):
    """The tenant: labels of the five custom user fields and the feature switches."""

    __tablename__ = "business_units"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    custom_field_1_label: Mapped[str] = mapped_column(String(50), default="Custom 1")
    custom_field_2_label: Mapped[str] = mapped_column(String(50), default="Custom 2")
    custom_field_3_label: Mapped[str] = mapped_column(String(50), default="Custom 3")
    custom_field_4_label: Mapped[str] = mapped_column(String(50), default="Custom 4")
    custom_field_5_label: Mapped[str] = mapped_column(String(50), default="Custom 5")
    # Feature switches: they decide which user fields apply (NICE "Create a User" 6-11).
    omnichannel_session_handling: Mapped[bool] = mapped_column(default=False)
    granular_osh: Mapped[bool] = mapped_column(default=False)
    wfo_enabled: Mapped[bool] = mapped_column(default=False)
    wfm_enabled: Mapped[bool] = mapped_column(default=False)
    max_release_preview_allowed: Mapped[bool] = mapped_column(default=False)
    crm_integration_enabled: Mapped[bool] = mapped_column(default=False)

    def custom_field_labels(self) -> list[str]:
        return [getattr(self, f"custom_field_{slot}_label") for slot in range(1, 6)]


# How many users each unit holds, kept by triggers on `users` (migration 0009) whatever writes
# them: the total of a users list that limits nothing but the unit is read here, not counted
# user by user (services/users/queries.py, users_total). A unit without users may have no row.
unit_user_counts = Table(
    "unit_user_counts",
    Base.metadata,
    Column(
        "business_unit_id",
        BigIntPk,
        ForeignKey("business_units.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("users", BigInteger, nullable=False),
)
