from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, String, Table, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, VersionMixin, fk

user_security_profiles = Table(
    "user_security_profiles",
    Base.metadata,
    Column("user_id", BigIntPk, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "security_profile_id",
        BigIntPk,
        ForeignKey("security_profiles.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class SecurityProfile(IdMixin, TimestampMixin, VersionMixin, Base):
    """A named set of permissions plus the password policy of the users who hold it."""

    __tablename__ = "security_profiles"
    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_min_length: Mapped[int] = mapped_column(default=12)
    password_require_uppercase: Mapped[bool] = mapped_column(default=False)
    password_require_lowercase: Mapped[bool] = mapped_column(default=False)
    password_require_digit: Mapped[bool] = mapped_column(default=False)
    password_require_symbol: Mapped[bool] = mapped_column(default=False)
    generate_random_passwords: Mapped[bool] = mapped_column(default=False)
    # The built-in Administrator profile: it always holds every permission and is never deleted.
    is_administrator: Mapped[bool] = mapped_column(default=False, server_default=false())
