"""The database is what the migrations make, and it is configured as the design says."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import InvalidRequestError

from ccgraph.config import Settings
from ccgraph.db import engine as engine_module
from ccgraph.db import models as m
from ccgraph.db.base import Base
from ccgraph.db.engine import create_engine
from ccgraph.db.records import columns, fetch_records
from ccgraph.db.search import compared_with_models
from tests import factories as f


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


async def _pooled_backends(engine) -> list[int]:
    """The server process of every connection waiting in the engine's pool."""
    held = [await engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        return [await c.scalar(text("SELECT pg_backend_pid()")) for c in held]
    finally:
        for c in held:
            await c.close()


@pytest.mark.parametrize("idle", [0.0, None])
async def test_a_pooled_connection_the_server_ended_is_replaced_before_a_request_gets_it(
    app, settings, admin_api, monkeypatch, idle
):
    """An administrator (or a restart) ends the server side of every pooled connection: the
    next requests are answered all the same, on new connections. With `idle` 0 each pooled
    connection is pinged before use; by default (None) one in steady use is not, and the
    driver's own knowledge that its socket ended is what replaces it."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's connection pool")
    if idle is not None:
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", idle)
    assert (await admin_api.data("{ viewer { username } }"))["viewer"]["username"] == "admin"
    ended = await _pooled_backends(app.state.engine)
    assert ended
    other = create_engine(Settings(database_url=settings.database_url))
    try:
        async with other.connect() as conn:
            for pid in ended:
                assert await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            for _ in range(500):  # until the server has ended them
                gone = await conn.scalar(
                    text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ANY(:p)"), {"p": ended}
                )
                if gone:
                    break
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the driver reads the end of each socket
        for _ in range(3):
            assert (await admin_api.data("{ viewer { username } }"))["viewer"]["username"] == "admin"
        assert not set(ended) & set(await _pooled_backends(app.state.engine))
    finally:
        await other.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(app, settings, admin_api, monkeypatch):
    """SQLAlchemy's pre-ping cost three round trips at each check-out; a connection back in
    the pool for less than PING_AFTER_IDLE_SECONDS is used without one."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's connection pool")
    pings = []
    adapted = type(await _raw(app.state.engine))
    ping = adapted.ping
    monkeypatch.setattr(adapted, "ping", lambda self: pings.append(1) or ping(self))
    for _ in range(3):
        await admin_api.data("{ viewer { username } }")
    assert pings == []
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    await admin_api.data("{ viewer { username } }")
    assert pings  # (what counts them counts)


async def _raw(engine):
    async with engine.connect() as conn:
        return (await conn.get_raw_connection()).dbapi_connection


@pytest.mark.parametrize(
    "method, body",
    [
        ("POST", b"{not json"),  # refused before the operation runs
        ("GET", None),  # a mutation over GET: refused too
        ("POST", b'{"query": "{ viewer { username } }"}'),  # runs
    ],
)
async def test_every_request_gives_its_connection_back(app, admin_api, method, body):
    """A request's session reads its caller before anything else: whether the request then runs
    its operation or is refused, the connection is back in the pool once it is answered."""
    headers = {"authorization": f"Bearer {admin_api.token}", "content-type": "application/json"}
    if method == "GET":
        response = await admin_api.client.get(
            "/graphql", params={"query": "mutation { logout { ok } }"}, headers=headers
        )
    else:
        response = await admin_api.client.post("/graphql", content=body, headers=headers)
    assert response.status_code == (200 if body and body.startswith(b'{"') else 400 if body else 405)
    assert app.state.engine.pool.checkedout() == 0


async def test_records_hold_the_values_sqlalchemy_reads(app, db, admin_api):
    """Records are made from the driver's rows when SQLAlchemy would convert none of their
    values (db.records): for every table's columns, on each database, they hold what
    SQLAlchemy's own rows hold, of the same types (an enum member, not its name; an aware
    datetime; a decoded JSON value)."""
    await f.organisation(db, 3)
    await db.commit()
    compared = set()
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if not hasattr(model, "__table__"):
            continue
        stmt = select(*columns(model)).order_by(*model.__table__.primary_key.columns)
        read = await fetch_records(db, stmt)
        expected = (await db.execute(stmt)).all()
        assert [tuple(r) for r in read] == [tuple(r) for r in expected], model.__name__
        assert [[type(v) for v in r] for r in read] == [[type(v) for v in r] for r in expected]
        if read:
            compared.add(model.__name__)
    # generated, not empty: an enum column, JSON, aware datetimes
    assert {"WorkStream", "SecurityProfile", "User", "Session"} <= compared
