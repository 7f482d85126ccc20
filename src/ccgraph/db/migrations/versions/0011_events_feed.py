"""events feed: each audit row's writing transaction (`txid`), so that a reader following the
audit trail as an event log skips nothing; users by unit and time of change, for an integrator's
`users(filter: {updatedSince})`

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

On PostgreSQL the ids of a sequence commit out of order: a transaction that took id 10 may
commit after one that took id 11, so a reader that has seen 11 and goes on "after 11" would
never see 10. Every row a transaction will still commit has a transaction id at least the
oldest one running in the database, so reading in (txid, id) order, up to that horizon,
leaves nothing behind (services/events.committed_after). The column is added with the constant
default 0 (instant: no rewrite, the rows already there read 0 and keep their id order), then
its default becomes the writing transaction's id, for new rows only.

SQLite serialises its writers, so ids commit in order: the column stays 0 there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_audit_events_txid_id"
USERS_INDEX = "ix_users_business_unit_id_updated_at"
PG_DEFAULT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("txid", sa.BigInteger(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_events", "txid", server_default=sa.text(PG_DEFAULT))
    op.create_index(INDEX, "audit_events", ["txid", "id"], unique=False)
    # Not in a batch: a batch would rebuild `users` on SQLite, and with it drop 0009's triggers.
    op.create_index(USERS_INDEX, "users", ["business_unit_id", "updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(USERS_INDEX, table_name="users")
    # Not in a batch: SQLite (3.35 and later) drops a column in place.
    op.drop_index(INDEX, table_name="audit_events")
    op.drop_column("audit_events", "txid")
