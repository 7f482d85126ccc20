"""security profiles: the built-in Administrator profile is marked

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("security_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_administrator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # The profile `ccgraph init` created for the master administrator is the built-in one.
    op.execute(
        "UPDATE security_profiles SET is_administrator = true WHERE name = 'Administrator' AND id IN "
        "(SELECT l.security_profile_id FROM user_security_profiles l "
        "JOIN users u ON u.id = l.user_id WHERE u.is_master_admin)"
    )


def downgrade() -> None:
    with op.batch_alter_table("security_profiles", schema=None) as batch_op:
        batch_op.drop_column("is_administrator")
