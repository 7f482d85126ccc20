"""The user: identity, organisation, contact, phone, routing and channel settings.

Columns are grouped as the product pages group them; the GraphQL layer shows each group as
an object of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Enum, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccgraph.db.base import Base, BigIntPk, IdMixin, TimestampMixin, UtcDateTime, fk
from ccgraph.enums import AccessMode, DeliveryMode, PhoneType

if TYPE_CHECKING:
    from ccgraph.db.models.security_profiles import SecurityProfile
    from ccgraph.db.models.teams import Team
    from ccgraph.db.models.user_profiles import UserProfile

user_queues = Table(
    "user_queues",
    Base.metadata,
    Column("user_id", BigIntPk, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("queue_id", BigIntPk, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True, index=True),
)

user_work_streams = Table(
    "user_work_streams",
    Base.metadata,
    Column("user_id", BigIntPk, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "work_stream_id",
        BigIntPk,
        ForeignKey("work_streams.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


def _enum(kind: type) -> Enum:
    return Enum(kind, native_enum=False, length=20)


# The columns the users list can be ordered by (UserOrderField), each with an index.
USER_ORDERS = ("username", "first_name", "last_name", "email", "created_at")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    # An identity provider's id of the user is unique within the tenant it provisions (NULLs,
    # users it did not provision, never collide). An index, not a constraint: SQLite adds an
    # index in place, where a constraint would rebuild the table.
    __table_args__ = (
        Index("ix_users_business_unit_id_external_id", "business_unit_id", "external_id", unique=True),
        # One per order of the users list (services/users/queries.py, UserOrderField), as a
        # scoped caller pages it: the unit, the sort key, the id that breaks ties. The search's
        # index (FTS5 on SQLite, pg_trgm on PostgreSQL) is the migrations' alone (db/search.py).
        *(Index(f"ix_users_business_unit_id_{c}", "business_unit_id", c, "id") for c in USER_ORDERS),
        # An integrator's sync, `users(filter: {updatedSince})`: the few users changed since.
        Index("ix_users_business_unit_id_updated_at", "business_unit_id", "updated_at"),
    )

    business_unit_id: Mapped[int] = fk("business_units.id", ondelete="RESTRICT")
    # Optimistic concurrency: every write bumps it; a write made from a stale copy fails.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    # Identity. Usernames are unique across the installation and stored lower-case.
    username: Mapped[str] = mapped_column(String(150), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    enabled: Mapped[bool] = mapped_column(default=True)
    # The id the identity provider that provisions the user over SCIM gave it (`externalId`).
    external_id: Mapped[str | None] = mapped_column(String(255))
    is_master_admin: Mapped[bool] = mapped_column(default=False)

    # Organisation (NICE step 3, Dynamics "Organization Information").
    team_id: Mapped[int | None] = fk("teams.id", ondelete="SET NULL", nullable=True)
    manager_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", nullable=True)
    job_title: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    employee_id: Mapped[str | None] = mapped_column(String(50))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(100))

    # Contact details and address (Dynamics "Details").
    main_phone: Mapped[str | None] = mapped_column(String(40))
    mobile_phone: Mapped[str | None] = mapped_column(String(40))
    home_phone: Mapped[str | None] = mapped_column(String(40))
    address_street1: Mapped[str | None] = mapped_column(String(200))
    address_street2: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(2))

    # Administration (Dynamics): client access licence mode and mailbox.
    access_mode: Mapped[AccessMode] = mapped_column(_enum(AccessMode), default=AccessMode.READ_WRITE)
    mailbox: Mapped[str | None] = mapped_column(String(254))

    # Routing: the user's own values; None/empty means "inherit from the user profile".
    user_profile_id: Mapped[int | None] = fk("user_profiles.id", ondelete="SET NULL", nullable=True)
    capacity: Mapped[int | None]
    default_presence_id: Mapped[int | None] = fk("presence_statuses.id", ondelete="SET NULL", nullable=True)

    # Phone (Dextr 1.3).
    phone_type: Mapped[PhoneType] = mapped_column(_enum(PhoneType), default=PhoneType.SOFTPHONE)
    desk_phone_number: Mapped[str | None] = mapped_column(String(40))
    auto_accept_calls: Mapped[bool] = mapped_column(default=False)

    # Channel settings (NICE steps 5-6).
    refusal_timeouts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    dialing_pattern: Mapped[str | None] = mapped_column(String(50))
    agent_voice_threshold: Mapped[int | None]
    suppress_ringing: Mapped[bool] = mapped_column(default=False)
    concurrent_chats: Mapped[int | None]
    auto_parked_emails: Mapped[int | None]
    request_contact: Mapped[bool] = mapped_column(default=False)

    # Omnichannel session handling (NICE step 7), only when the business unit enables it.
    osh_max_contacts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    osh_delivery_mode: Mapped[DeliveryMode | None] = mapped_column(_enum(DeliveryMode))
    osh_total_contact_count: Mapped[int | None]

    # WFO recording (step 8), MAX release preview (9), WFM notifications (10), CRM (11).
    wfo_system_domain: Mapped[str | None] = mapped_column(String(100))
    wfo_system_username: Mapped[str | None] = mapped_column(String(100))
    wfo_phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_release_preview: Mapped[bool] = mapped_column(default=False)
    wfm_notify_email: Mapped[bool] = mapped_column(default=False)
    wfm_notify_sms: Mapped[bool] = mapped_column(default=False)
    wfm_notify_in_app: Mapped[bool] = mapped_column(default=True)
    crm_username: Mapped[str | None] = mapped_column(String(150))

    # The five custom fields; their labels live on the business unit.
    custom_1: Mapped[str | None] = mapped_column(String(200))
    custom_2: Mapped[str | None] = mapped_column(String(200))
    custom_3: Mapped[str | None] = mapped_column(String(200))
    custom_4: Mapped[str | None] = mapped_column(String(200))
    custom_5: Mapped[str | None] = mapped_column(String(200))

    # Credentials. Never leave the services layer.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    mfa_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    mfa_last_step: Mapped[int | None]

    # Relationships are never loaded implicitly: a hidden lazy load raises.
    team: Mapped[Team | None] = relationship(lazy="raise")
    user_profile: Mapped[UserProfile | None] = relationship(lazy="raise")
    manager: Mapped[User | None] = relationship(remote_side="User.id", lazy="raise")
    security_profiles: Mapped[list[SecurityProfile]] = relationship(
        secondary="user_security_profiles", lazy="raise"
    )


def custom_values(user: Any) -> list[str | None]:
    """The five custom field values of a user's row (mapped or a record)."""
    return [getattr(user, f"custom_{slot}") for slot in range(1, 6)]
