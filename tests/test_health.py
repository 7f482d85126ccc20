"""`/healthz` answers while the process runs, without the database; `/readyz` answers 200 only
when the database answers and is migrated to the code's head, and says which check failed."""

from __future__ import annotations

import httpx
import pytest

from ccgraph.app import create_app
from ccgraph.db.engine import create_engine
from ccgraph.db.migrate import script_head, upgrade
from tests.conftest import cheap_settings


async def get(app, path):
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        return await client.get(path)


async def test_ready_on_a_migrated_database(api):
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "revision": script_head(),
        "head": script_head(),
    }


@pytest.mark.parametrize(
    "url",
    ["sqlite+aiosqlite:////proc/ccgraph.db", "postgresql+asyncpg://ccgraph:secret@127.0.0.1:1/ccgraph"],
)
async def test_an_unreachable_database_is_named_and_health_stays_up(url):
    app = create_app(cheap_settings(url, mail_poll_seconds=0, db_connect_timeout_seconds=2))
    ready = await get(app, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable" and ready.json()["failed"] == "database"
    assert ready.json()["database"] in {"OperationalError", "ConnectionRefusedError"}
    assert "secret" not in ready.text
    health = await get(app, "/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


async def test_an_empty_database_is_not_migrated(tmp_path):
    app = create_app(cheap_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", mail_poll_seconds=0))
    ready = await get(app, "/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "failed": "migrations",
        "database": "ok",
        "migrations": "behind",
        "revision": None,
        "head": script_head(),
    }


async def test_a_database_behind_the_code_is_not_ready_until_migrated(tmp_path):
    settings = cheap_settings(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", mail_poll_seconds=0)
    engine = create_engine(settings)
    await upgrade(engine, "0004")
    older = await get(create_app(settings), "/readyz")
    assert older.status_code == 503
    assert older.json()["failed"] == "migrations" and older.json()["revision"] == "0004"
    await upgrade(engine)
    await engine.dispose()
    assert (await get(create_app(settings), "/readyz")).status_code == 200
