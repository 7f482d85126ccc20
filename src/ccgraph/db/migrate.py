"""Run the Alembic migrations programmatically, on the same engine code the server uses."""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ccgraph.config import ConfigError, variable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    config = alembic_config()

    def _upgrade(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def script_head() -> str:
    """The revision the code expects the database at."""
    head = _scripts().get_current_head()
    assert head is not None, "the migrations have one head"
    return head


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the database answers and is migrated to the code's head: what `/readyz`
    answers and what `ccgraph serve` checks before it starts."""

    database: URL
    failure: BaseException | None = None  # why the database did not answer
    revision: str | None = None  # the database's, when it answered (None: never migrated)

    @property
    def url(self) -> str:
        return self.database.render_as_string(hide_password=True)

    @property
    def reachable(self) -> bool:
        return self.failure is None

    @property
    def migrated(self) -> bool:
        return self.reachable and self.revision == script_head()

    def as_json(self) -> dict[str, str | None]:
        """For `/readyz`: which check failed, without the error's text (it may name hosts)."""
        body: dict[str, str | None] = {"status": "ready" if self.migrated else "unavailable"}
        if not self.reachable:
            return body | {"failed": "database", "database": type(self.failure).__name__}
        body |= {"database": "ok", "migrations": "ok" if self.migrated else "behind"}
        body |= {"revision": self.revision, "head": script_head()}
        return body | ({} if self.migrated else {"failed": "migrations"})

    def problem(self, *, migrated: bool = True) -> ConfigError | None:
        """The one line that says what is wrong and what to do, or None when all is well."""
        setting = variable("database_url")
        if self.failure is not None:
            error = self.failure
            if isinstance(error, DBAPIError) and error.orig is not None:
                error = error.orig  # the driver's own words, not SQLAlchemy's wrapping
            reason = str(error).strip().splitlines()
            cause = f"{type(error).__name__}: {reason[0]}" if reason else type(error).__name__
            if isinstance(error, TimeoutError):
                cause = f"no answer within {variable('db_connect_timeout_seconds')}"
            return ConfigError(
                setting,
                f"cannot reach the database at {self.url} ({cause})",
                "check that it is running and that the URL is right",
            )
        if not migrated or self.migrated:
            return None
        if self.revision is None:
            return ConfigError(setting, f"the database at {self.url} is not migrated", "run `ccgraph init`")
        known = {script.revision for script in _scripts().walk_revisions()}
        if self.revision not in known:
            return ConfigError(
                setting,
                f"the database at {self.url} is at migration {self.revision}, unknown to this ccgraph",
                "run the newer ccgraph that migrated it",
            )
        return ConfigError(
            setting,
            f"the database at {self.url} is at migration {self.revision}, not {script_head()}",
            "run `ccgraph init` to migrate it",
        )


async def readiness(engine: AsyncEngine, timeout_seconds: float) -> Readiness:
    """Connect (within `timeout_seconds`) and read the database's migration revision."""
    before = set(threading.enumerate())
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            heads = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        # aiosqlite stops the thread of a connection that failed to open without waiting for it:
        # let it finish while the loop runs (a command that exits now would close the loop under
        # it, and the thread would print a traceback).
        for thread in set(threading.enumerate()) - before:
            if "_connection_worker_thread" in thread.name:
                await asyncio.to_thread(thread.join, timeout_seconds)
        return Readiness(engine.url, failure=exc)
    return Readiness(engine.url, revision=heads[0] if len(heads) == 1 else ",".join(heads) or None)
