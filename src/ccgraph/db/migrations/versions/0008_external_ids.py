"""external ids: the id an identity provider gave a user or a team it provisions over SCIM
(`externalId`), unique within the business unit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00

Unique indexes, not unique constraints: SQLite adds a column and an index in place, where a
constraint would have `batch_alter_table` rebuild the table, and dropping `users` to rebuild it
with foreign keys on would delete every row that references a user (ON DELETE CASCADE).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "teams")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
            batch_op.create_index(
                f"ix_{table}_business_unit_id_external_id", ["business_unit_id", "external_id"], unique=True
            )


def downgrade() -> None:
    # Not in a batch: SQLite (3.35 and later) drops a column in place, where a batch would
    # rebuild the table and so delete every row that references a user.
    for table in TABLES:
        op.drop_index(f"ix_{table}_business_unit_id_external_id", table_name=table)
        op.drop_column(table, "external_id")
