"""user lists at scale: an index per order of the users list (the unit first, the id last), an
index for the users search (SQLite: an FTS5 trigram table; PostgreSQL: a pg_trgm GIN index),
and each unit's count of users (`unit_user_counts`), both kept by triggers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

A scoped caller's users list is `WHERE business_unit_id = ? ORDER BY <field>, id`: each index
below answers one such order, in either direction, a page at a time (and a keyset cursor
`(<field>, id) > (?, ?)` seeks into it), where before the database sorted every user of the
unit for each page.

The search (`lower(column) LIKE '%term%'` over the four columns, db/search.py) keeps its rule;
what finds the candidates differs per database:

- SQLite: `users_fts`, an external-content FTS5 table over the four columns with the trigram
  tokenizer (SQLite 3.34 or later), kept in step with `users` by triggers. A term of three
  characters or more is looked up in it.
- PostgreSQL: one GIN index of the four `lower(column)`s with pg_trgm's `gin_trgm_ops`, which
  serves `LIKE '%term%'` as it is. pg_trgm is created if it is missing (it is a trusted
  extension: the database's owner may create it), in `public`; where it already exists, in
  whatever schema, that one is used.

`unit_user_counts` holds how many users each unit has, so that the total of a list that limits
nothing but the unit is read, not counted. Triggers keep it whatever writes `users`: on SQLite
one per row; on PostgreSQL one per statement for inserts and deletes (a bulk insert adds its
rows to the count once), one per row for the rare move of a user to another unit.

A later migration that rebuilds `users` on SQLite (a batch "move and copy") drops the triggers
with the old table: it must create them again (`SQLITE_TRIGGERS`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDERS = ("username", "first_name", "last_name", "email", "created_at")
SEARCHED = ("username", "first_name", "last_name", "email")
TRIGRAM_INDEX = "ix_users_search_trigrams"

_COLUMNS = ", ".join(SEARCHED)
_OLD = ", ".join(f"old.{c}" for c in SEARCHED)
_NEW = ", ".join(f"new.{c}" for c in SEARCHED)
_FORGET = f"INSERT INTO users_fts (users_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});"
_INDEX = f"INSERT INTO users_fts (rowid, {_COLUMNS}) VALUES (new.id, {_NEW});"
_COUNT_IN = (
    "INSERT INTO unit_user_counts (business_unit_id, users) VALUES (new.business_unit_id, 1) "
    "ON CONFLICT (business_unit_id) DO UPDATE SET users = users + 1;"
)
_COUNT_OUT = "UPDATE unit_user_counts SET users = users - 1 WHERE business_unit_id = old.business_unit_id;"

SQLITE_TRIGGERS = {
    "users_after_insert": f"AFTER INSERT ON users BEGIN {_INDEX} {_COUNT_IN} END",
    "users_after_delete": f"AFTER DELETE ON users BEGIN {_FORGET} {_COUNT_OUT} END",
    "users_fts_after_update": f"AFTER UPDATE OF {_COLUMNS} ON users BEGIN {_FORGET} {_INDEX} END",
    "unit_user_counts_after_move": "AFTER UPDATE OF business_unit_id ON users "
    f"WHEN old.business_unit_id <> new.business_unit_id BEGIN {_COUNT_OUT} {_COUNT_IN} END",
}

# PostgreSQL: (function, its body, the trigger that runs it). `SET search_path FROM CURRENT`
# pins the schema the tables were made in, whatever the session that fires them has.
_PG_ADD = """INSERT INTO unit_user_counts AS c (business_unit_id, users)
    SELECT business_unit_id, count(*) FROM {rows} GROUP BY business_unit_id
    ON CONFLICT (business_unit_id) DO UPDATE SET users = c.users + excluded.users;"""
_PG_SUBTRACT = """UPDATE unit_user_counts AS c SET users = c.users - r.n
    FROM (SELECT business_unit_id, count(*) AS n FROM {rows} GROUP BY business_unit_id) AS r
    WHERE c.business_unit_id = r.business_unit_id;"""
POSTGRESQL_TRIGGERS = {
    "unit_user_counts_added": (
        _PG_ADD.format(rows="added"),
        "AFTER INSERT ON users REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
    ),
    "unit_user_counts_removed": (
        _PG_SUBTRACT.format(rows="removed"),
        "AFTER DELETE ON users REFERENCING OLD TABLE AS removed FOR EACH STATEMENT",
    ),
    "unit_user_counts_moved": (
        _PG_SUBTRACT.format(rows="(SELECT OLD.business_unit_id) AS o (business_unit_id)")
        + _PG_ADD.format(rows="(SELECT NEW.business_unit_id) AS n (business_unit_id)"),
        "AFTER UPDATE OF business_unit_id ON users FOR EACH ROW "
        "WHEN (OLD.business_unit_id IS DISTINCT FROM NEW.business_unit_id)",
    ),
}


def upgrade() -> None:
    for column in ORDERS:
        op.create_index(f"ix_users_business_unit_id_{column}", "users", ["business_unit_id", column, "id"])
    big_int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "unit_user_counts",
        sa.Column("business_unit_id", big_int, nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_unit_id"],
            ["business_units.id"],
            name=op.f("fk_unit_user_counts_business_unit_id_business_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_unit_id", name=op.f("pk_unit_user_counts")),
    )
    op.execute(
        "INSERT INTO unit_user_counts (business_unit_id, users) "
        "SELECT business_unit_id, count(*) FROM users GROUP BY business_unit_id"
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite()
    elif dialect == "postgresql":
        _postgresql()


def _sqlite() -> None:
    version = op.get_bind().exec_driver_sql("SELECT sqlite_version()").scalar_one()
    if tuple(int(part) for part in version.split(".")[:2]) < (3, 34):
        raise RuntimeError(f"SQLite {version}: the users search needs FTS5's trigram tokenizer (3.34+)")
    op.execute(
        f"CREATE VIRTUAL TABLE users_fts USING fts5({_COLUMNS}, "
        "content='users', content_rowid='id', tokenize='trigram')"
    )
    op.execute("INSERT INTO users_fts (users_fts) VALUES ('rebuild')")  # the users already there
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _postgresql() -> None:
    bind = op.get_bind()
    find = sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
    schema = bind.execute(find).scalar()
    if schema is None:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        schema = bind.execute(find).scalar_one()
    columns = ", ".join(f"lower({column}) {schema}.gin_trgm_ops" for column in SEARCHED)
    op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON users USING gin ({columns})")
    for name, (body, when) in POSTGRESQL_TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT "
            f"AS $$ BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {name}()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE users_fts")
    elif dialect == "postgresql":
        for name in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON users")
            op.execute(f"DROP FUNCTION {name}()")
        op.drop_index(TRIGRAM_INDEX, table_name="users")  # pg_trgm stays: others may use it
    op.drop_table("unit_user_counts")
    for column in reversed(ORDERS):
        op.drop_index(f"ix_users_business_unit_id_{column}", table_name="users")
