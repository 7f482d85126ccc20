"""access keys a security officer accepts: name, description, scopes, expiry, last use's address;
sessions issued to an access key (OAuth client credentials) with their own scopes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ccgraph.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("description", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", ccgraph.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_used_from", sa.String(length=45), nullable=True))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_key_id", big_int, nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_sessions_access_key_id"), ["access_key_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_sessions_access_key_id_access_keys"),
            "access_keys",
            ["access_key_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_sessions_access_key_id_access_keys"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_sessions_access_key_id"))
        batch_op.drop_column("scopes")
        batch_op.drop_column("access_key_id")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_from")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
        batch_op.drop_column("description")
        batch_op.drop_column("name")
