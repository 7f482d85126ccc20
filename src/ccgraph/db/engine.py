"""One engine factory for both backends; SQLite gets the pragmas an embedded server needs."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from ccgraph.config import Settings

# The SQLite driver logs every call with its parameters at DEBUG; keep that out of any log.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    # Statement parameters can carry password hashes: never log them, even with echo on.
    # JSON columns (a user's channel settings, a profile's permissions) are read with orjson:
    # a page of users reads some 400 of them, at a third of the standard library's cost.
    kwargs: dict[str, Any] = {
        "echo": settings.db_echo,
        "hide_parameters": True,
        "json_deserializer": orjson.loads,
    }
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    kwargs |= {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size}
    kwargs["connect_args"] = {"timeout": settings.db_connect_timeout_seconds}
    if settings.database_schema:
        kwargs["connect_args"]["server_settings"] = {"search_path": settings.database_schema}
    engine = create_async_engine(url, **kwargs)
    _check_before_use(engine)
    return engine


# A pooled connection lain unused this long is pinged before use (see `_check_before_use`).
PING_AFTER_IDLE_SECONDS = 10.0


def _check_before_use(engine: AsyncEngine) -> None:
    """A pooled connection the server has closed (a restart, an administrator) is replaced
    before a request gets it, as SQLAlchemy's `pool_pre_ping` would do; but without a round
    trip for one in steady use. The driver knows a connection the server closed (its socket
    ended), so only a connection idle for PING_AFTER_IDLE_SECONDS (the one a silent network
    may have lost) is pinged: `pool_pre_ping` cost three round trips (BEGIN, `;`, ROLLBACK)
    at each of a request's two check-outs, about 0.7 ms of CPU a request."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["used_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed the connection")
        if time.monotonic() - record.info.get("used_at", 0.0) >= PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:  # the pool replaces it with a new connection
                raise DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front (IMMEDIATE), so one that reads and
        # then writes waits for another writer (busy_timeout) instead of failing half-way.
        # Reads stay DEFERRED and never block, thanks to WAL.
        immediate = connection.get_execution_options().get(_WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_WRITE_OPTION = "ccgraph_write"


WRITE_GATE = "ccgraph_write_gate"
# Set on a session for the whole of a validate-only mutation: whatever the use case asks, its
# transaction is only rolled back, and a commit is refused outright.
DRY_RUN = "ccgraph_dry_run"


class DryRunCommit(RuntimeError):
    """A commit was attempted in a validate-only mutation: a bug, refused before anything is kept."""


def is_dry(session: AsyncSession) -> bool:
    return bool(session.info.get(DRY_RUN))


@event.listens_for(Session, "before_commit")
def _refuse_dry_commit(session: Session) -> None:
    if session.info.get(DRY_RUN):
        raise DryRunCommit("a validate-only request tried to commit")


async def begin_write(session: AsyncSession, *, dry: bool = False) -> None:
    """Start the session's transaction as a write transaction.

    Call it first in a use case that writes; on PostgreSQL it is an ordinary BEGIN. What the
    session still holds from before (a read, or a validate-only write) is rolled back.

    Where the session carries a write gate (SQLite: one writer at a time, see
    `Context.write`), it is taken here and given back when the transaction ends, so it is
    held for the writes themselves: not while a use case reads, checks a file or hashes.
    `dry` (a validate-only run) takes neither the gate nor the lock.
    """
    if session.in_transaction():
        await session.rollback()
    if dry or is_dry(session):
        # A dry run (validateOnly) writes only to roll back: it queues for nobody and locks
        # nothing up front; on SQLite its first write may find the database busy (DATABASE_BUSY).
        await session.connection()
        return
    gate: asyncio.Lock | None = session.info.get(WRITE_GATE)
    if gate is not None and not session.info.get(_GATE_HELD):
        await gate.acquire()
        session.info[_GATE_HELD] = True
    try:
        await session.connection(execution_options={_WRITE_OPTION: True})
    except BaseException:
        if gate is not None and not session.in_transaction() and session.info.pop(_GATE_HELD, False):
            gate.release()  # no transaction began, so none will end to give it back
        raise


def carry_write_gate(session: AsyncSession, gate: asyncio.Lock) -> None:
    """Let `begin_write` take `gate`; it is released when the session's transaction ends."""
    session.info[WRITE_GATE] = gate
    sync = session.sync_session
    if not event.contains(sync, "after_transaction_end", _release_gate):
        event.listen(sync, "after_transaction_end", _release_gate)


def _release_gate(sync_session: Any, transaction: Any) -> None:
    if transaction.parent is None and sync_session.info.pop(_GATE_HELD, False):
        sync_session.info[WRITE_GATE].release()


_GATE_HELD = "ccgraph_write_gate_held"


# ANALYZE reads at most this many entries of each index (PRAGMA analysis_limit): statistics the
# planner can choose by, in milliseconds whatever the size of the tables.
ANALYSIS_LIMIT = 1000
# A bulk write of this many users or more (an import, a usersCreate) refreshes the statistics.
BULK_ROWS = 500


async def refresh_statistics(session: AsyncSession, rows: int | None = None) -> None:
    """SQLite's planner statistics, gathered again (at start-up, and after a bulk write of
    `rows` users when that is BULK_ROWS or more). Without them SQLite takes every `business_unit_id`
    for a rare value and pages a search through the list's order index instead of the search's.

    A connection reads the statistics with the schema, so ANALYZE alone would reach only the
    connection that ran it: the statistics table is dropped and made anew, a change of schema
    that every connection, of every process, notices and re-reads at its next statement.
    `PRAGMA optimize` would not do at start-up: before SQLite 3.46 it analyses only the tables
    the connection has already queried. A database too busy to analyse now keeps the statistics
    it had (they only guide the planner). PostgreSQL's autovacuum analyses tables as they change.
    """
    if session.get_bind().dialect.name != "sqlite" or is_dry(session):
        return
    if rows is not None and rows < BULK_ROWS:
        return
    try:
        await begin_write(session)
        await session.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
        await session.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
        await session.execute(text("ANALYZE"))
        await session.commit()
    except OperationalError as exc:
        await session.rollback()
        logging.getLogger("ccgraph.db").warning("statistics not refreshed: %s", exc.orig)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
