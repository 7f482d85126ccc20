"""Starting a real `ccgraph serve` (or any server command) for a benchmark."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """Start `cmd` and wait until it answers HTTP on `port`."""
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(log.read_text()[-2000:])


async def pg_schema(url: str, statement: str) -> None:
    """Run one statement (CREATE or DROP SCHEMA) on the PostgreSQL server at `url`."""
    from sqlalchemy import text

    from ccgraph.config import Settings
    from ccgraph.db.engine import create_engine

    engine = create_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@contextmanager
def database(tmp: str, name: str) -> Iterator[dict[str, str]]:
    """The environment of a benchmark's database: a SQLite file in `tmp`, or, with
    CCGRAPH_BENCH_DATABASE_URL, a PostgreSQL schema of its own, dropped afterwards."""
    url = os.environ.get("CCGRAPH_BENCH_DATABASE_URL")
    if not url:
        yield {"CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{name}.db"}
        return
    schema = f"bench_{name}_{os.getpid()}"
    asyncio.run(pg_schema(url, f'CREATE SCHEMA "{schema}"'))
    try:
        yield {"CCGRAPH_DATABASE_URL": url, "CCGRAPH_DATABASE_SCHEMA": schema}
    finally:
        asyncio.run(pg_schema(url, f'DROP SCHEMA "{schema}" CASCADE'))


async def as_autovacuum_leaves_it(engine) -> None:
    """On PostgreSQL, VACUUM ANALYZE: the state autovacuum reaches on its own within a minute
    or two of a load like a benchmark's, whose plans the benchmark is about (without table
    statistics the planner scans user_skills whole for a page's skills). SQLite: nothing
    (ccgraph runs `PRAGMA optimize` itself)."""
    from sqlalchemy import text

    if engine.dialect.name == "sqlite":
        return
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM ANALYZE"))
