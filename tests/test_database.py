"""The database is what the migrations make, and it is configured as the design says."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import InvalidRequestError

from ccgraph.db import models as m
from ccgraph.db.base import Base
from ccgraph.db.search import compared_with_models


async def test_migrations_produce_exactly_the_models(app):
    async with app.state.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"include_name": compared_with_models}), Base.metadata
            )
        )
    assert diff == []


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app, settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    async with app.state.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == settings.sqlite_busy_timeout_ms


async def test_a_hidden_lazy_load_fails_loudly(db, admin):
    user = (await db.execute(select(m.User))).scalars().first()
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = user.security_profiles


async def test_timestamps_come_back_timezone_aware(db, admin):
    user = (await db.execute(select(m.User))).scalars().first()
    assert user.created_at.tzinfo is not None
