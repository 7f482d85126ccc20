"""webhooks: partners' endpoints (signing secret encrypted, a cursor into the audit trail) and the
outbox of their deliveries; the permission WEBHOOKS_MANAGE given to the Administrator profiles

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

The Administrator profile always holds every permission (services/authority.py), and a unit
keeps an enabled user holding every permission: so the new permission is added to every
Administrator profile here, in the same step that makes it exist (`ccgraph init` does it again
at each start, for any permission added later).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ccgraph.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSION = "WEBHOOKS_MANAGE"

_profiles = sa.table(
    "security_profiles",
    sa.column("id", sa.Integer()),
    sa.column("permissions", sa.JSON()),
    sa.column("is_administrator", sa.Boolean()),
)


def _set_permission(present: bool) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_profiles.c.id, _profiles.c.permissions).where(_profiles.c.is_administrator.is_(True))
    ).all()
    for profile_id, permissions in rows:
        held = [p for p in permissions or [] if p != PERMISSION]
        if present:
            held.append(PERMISSION)
        if held != list(permissions or []):
            conn.execute(sa.update(_profiles).where(_profiles.c.id == profile_id).values(permissions=held))


def upgrade() -> None:
    big_int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    utc = ccgraph.db.base.UtcDateTime(timezone=True)
    op.create_table(
        "webhooks",
        sa.Column("business_unit_id", big_int, nullable=False),
        sa.Column("owner_user_id", big_int, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_sealed", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("cursor", big_int, server_default="0", nullable=False),
        sa.Column("failing_since", utc, nullable=True),
        sa.Column("id", big_int, autoincrement=True, nullable=False),
        sa.Column("created_at", utc, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", utc, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_unit_id"],
            ["business_units.id"],
            name=op.f("fk_webhooks_business_unit_id_business_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_webhooks_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_business_unit_id"), ["business_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhooks_owner_user_id"), ["owner_user_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("webhook_id", big_int, nullable=False),
        sa.Column("event_id", big_int, nullable=False),
        sa.Column("subject_id", big_int, server_default="0", nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="PENDING", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", utc, nullable=False),
        sa.Column("last_attempt_at", utc, nullable=True),
        sa.Column("last_response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", utc, nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("id", big_int, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id",
            "event_id",
            "subject_id",
            name=op.f("uq_webhook_deliveries_webhook_id_event_id_subject_id"),
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_webhook_id_id", ["webhook_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    _set_permission(True)


def downgrade() -> None:
    _set_permission(False)
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_next_attempt_at"))
        batch_op.drop_index("ix_webhook_deliveries_webhook_id_id")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_webhooks_business_unit_id"))
    op.drop_table("webhooks")
