"""Fixtures: a real database (a SQLite file, and PostgreSQL when CCGRAPH_TEST_DATABASE_URL is
set) migrated by Alembic, and the real ASGI app reached over HTTP through httpx."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.app import create_app
from ccgraph.auth.passwords import Passwords
from ccgraph.config import Settings
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.db.migrate import upgrade
from ccgraph.services.bootstrap import initialize

ADMIN_PASSWORD = "admin-password-123"
SERVER_URL = os.environ.get("CCGRAPH_TEST_DATABASE_URL")
# Under pytest-xdist each worker has a database of its own (`test_gw0`...), made on first use:
# the events feed waits for transactions running in its database (services.events), and one
# worker's would hold back another's events.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
PG_URL = (
    make_url(SERVER_URL).set(database=f"{make_url(SERVER_URL).database}_{WORKER}").render_as_string(False)
    if SERVER_URL and WORKER
    else SERVER_URL
)
# The planned executor serves by default; "sqlite-reference" runs every test again through
# graphql-core's own executor, so the two must agree on results, errors and permission checks.
BACKENDS = ["sqlite", "sqlite-reference"] + (["postgresql"] if PG_URL else [])


def cheap_settings(database_url: str, **overrides: Any) -> Settings:
    """Argon2 at its cheapest: tests check behaviour, not hashing cost. No webhook sender runs on
    its own (the webhook tests step it): no test sees its statements."""
    return Settings(
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        **({"webhooks_poll_seconds": 0.0} | overrides),
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; every test starts from a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(cheap_settings(f"sqlite+aiosqlite:///{path}"))

    async def migrate() -> None:
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@dataclass(frozen=True)
class PgTemplate:
    """The migrated schema as DDL, made once by the migrations and dumped (pg_dump), then
    replayed for each test under the test's own schema name: the same tables, indexes,
    triggers and Alembic revision as `upgrade` makes, in a fraction of its time (Alembic takes
    some 0.2 s a schema, and every PostgreSQL test needs one)."""

    name: str  # the template schema's (random) name, replaced in the DDL
    ddl: str
    revision: str

    async def replay(self, schema: str) -> None:
        import asyncpg

        url = make_url(PG_URL or "")
        conn = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
        )
        try:
            await conn.execute(self.ddl.replace(self.name, schema))
            await conn.execute(f'INSERT INTO "{schema}".alembic_version VALUES ($1)', self.revision)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> str | None:
    """PG_URL's database, created when it is a worker's and does not exist yet."""
    if not SERVER_URL or PG_URL == SERVER_URL:
        return PG_URL
    import asyncpg

    async def create() -> None:
        url = make_url(SERVER_URL)
        name = make_url(PG_URL).database
        conn = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
        )
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_URL


@pytest.fixture(scope="session")
def pg_template(pg_database: str | None) -> PgTemplate | None:
    """None without PostgreSQL or pg_dump: each test then migrates its schema itself."""
    if not PG_URL or shutil.which("pg_dump") is None:
        return None
    name = f"tmpl_{uuid.uuid4().hex[:12]}"

    async def migrate(statement: str) -> str | None:
        admin = create_engine(cheap_settings(PG_URL))
        async with admin.begin() as conn:
            await conn.execute(text(statement))
        await admin.dispose()
        if statement.startswith("DROP"):
            return None
        engine = create_engine(cheap_settings(PG_URL, database_schema=name))
        await upgrade(engine)
        async with engine.connect() as conn:
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await engine.dispose()
        return str(revision)

    revision = asyncio.run(migrate(f'CREATE SCHEMA "{name}"'))
    url = make_url(PG_URL)
    try:
        dumped = subprocess.run(
            [
                "pg_dump",
                "--schema-only",
                "--no-owner",
                "--no-privileges",
                "--schema",
                name,
                "--host",
                url.host or "127.0.0.1",
                "--port",
                str(url.port or 5432),
                "--username",
                url.username or "postgres",
                url.database or "postgres",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=os.environ | ({"PGPASSWORD": url.password} if url.password else {}),
        ).stdout
    finally:
        asyncio.run(migrate(f'DROP SCHEMA "{name}" CASCADE'))
    # psql's own commands (\restrict...) are not SQL
    ddl = "\n".join(line for line in dumped.splitlines() if not line.startswith("\\"))
    assert revision is not None
    return PgTemplate(name, ddl, revision)


@pytest.fixture(params=BACKENDS)
async def settings(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    tmp_path: Path,
    pg_template: PgTemplate | None,
) -> AsyncIterator[Settings]:
    if request.param == "sqlite-reference" and request.node.get_closest_marker("transport"):
        pytest.skip("transport: nothing here that graphql-core's own executor would run differently")
    if request.param.startswith("sqlite"):
        path = tmp_path / "ccgraph.db"
        shutil.copy(sqlite_template, path)
        planned = request.param == "sqlite"
        yield cheap_settings(f"sqlite+aiosqlite:///{path}", planned_execution=planned)
        return
    # PostgreSQL: a fresh schema per test, so tests stay independent.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cheap_settings(PG_URL))
    settings = cheap_settings(PG_URL, database_schema=schema)
    if pg_template is not None:
        await pg_template.replay(schema)
    else:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(settings)
        await upgrade(engine)
        await engine.dispose()
    try:
        yield settings
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def db(app: Any) -> AsyncIterator[AsyncSession]:
    """A session on the app's own engine, for arranging data and checking what was written."""
    async with session_factory(app.state.engine)() as session:
        yield session


@pytest.fixture
async def admin(app: Any, db: AsyncSession, settings: Settings) -> Any:
    return await initialize(db, Passwords(settings), admin_username="admin", admin_password=ADMIN_PASSWORD)


class Api:
    """A GraphQL client over real HTTP to the ASGI app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token: str | None = None

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {}
        bearer = token if token is not None else self.token
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def refused(self, query: str, authorization: str) -> str:
        """Credentials that are not good: 401, UNAUTHENTICATED, and why (the reason)."""
        response = await self.client.post(
            "/graphql", json={"query": query}, headers={"authorization": authorization}
        )
        assert response.status_code == 401, response.text
        assert "invalid_token" in response.headers["www-authenticate"]
        body = response.json()
        assert "data" not in body, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        reason: str = error["extensions"]["reason"]
        assert reason in response.headers["www-authenticate"]
        return reason

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        body = await self.post(query, variables, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def login(self, username: str, password: str) -> str:
        data = await self.data(
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
            "{ token userErrors { code message } } }",
            {"u": username, "p": password},
            token="",
        )
        assert data["login"]["userErrors"] == [], data
        return data["login"]["token"]


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)


@pytest.fixture
async def admin_api(api: Api, admin: Any) -> Api:
    api.token = await api.login("admin", ADMIN_PASSWORD)
    return api


class StatementCounter:
    def __init__(self, engine: Any) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        self.statements.clear()
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture
def sql_counter(app: Any) -> StatementCounter:
    return StatementCounter(app.state.engine)
