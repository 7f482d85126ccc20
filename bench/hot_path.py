"""The product's hot path, measured against its floor. Starts three real servers on one
generated organisation (5,000 users, 50 profiles, 200 queues, 500 skills, 5-20 skills a user):

- ccgraph: `ccgraph serve`, the nested page query for 100 users;
- core:    the same, with graphql-core's own executor (CCGRAPH_PLANNED_EXECUTION=false);
- naive:   the same, with the dataloaders off (CCGRAPH_DATALOADERS=false: a statement per row);
- limit:   bench/limit_app.py, the same rows with hand-written SQLAlchemy Core, the same JSON.

For each: latency p50/p99 at concurrency 1, throughput at concurrency 16, SQL statements per
request (ccgraph, counted in process). Prints a table and writes bench/results.json.
SQLite by default; CCGRAPH_BENCH_DATABASE_URL for PostgreSQL.
Run: `make bench` or `python bench/hot_path.py [--users 5000] [--requests 50] [--seconds 15]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
from nested_query import QUERY, organisation  # noqa: E402

from ccgraph.app import create_app  # noqa: E402
from ccgraph.config import Settings  # noqa: E402
from ccgraph.db.migrate import upgrade  # noqa: E402

HERE = Path(__file__).parent
PAGE = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(log.read_text()[-2000:])


async def measure(url: str, body: dict | None, headers: dict, requests: int, seconds: float) -> dict:
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=32)) as client:

        async def call() -> float:
            started = time.perf_counter()
            r = await (
                client.post(url, json=body, headers=headers) if body else client.post(url, headers=headers)
            )
            elapsed = time.perf_counter() - started
            assert r.status_code == 200 and b'"errors"' not in r.content[:200], r.text[:300]
            return elapsed

        for _ in range(3):
            await call()
        timings = sorted([await call() * 1000 for _ in range(requests)])
        done = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await call()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(16)))
        throughput = done / (time.perf_counter() - started)
        size = len((await client.post(url, json=body, headers=headers)).content) if body else None
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
        "throughput_rps": round(throughput, 1),
        "bytes": size,
    }


async def statements_per_request(settings: Settings, token: str) -> int:
    app = create_app(settings)
    count = 0

    def seen(*_a) -> None:
        nonlocal count
        count += 1

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        body = {"query": QUERY, "variables": {"n": PAGE}}
        headers = {"authorization": f"Bearer {token}"}
        await client.post("/graphql", json=body, headers=headers)
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", seen)
        await client.post("/graphql", json=body, headers=headers)
    return count


async def prepare(settings: Settings, users: int) -> str:
    app = create_app(settings)
    await upgrade(app.state.engine)
    await organisation(app, users)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
        r = await client.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "admin", '
                'password: "bench-password"}) { token } }'
            },
        )
    await app.state.engine.dispose()
    return r.json()["data"]["login"]["token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("CCGRAPH_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/hot.db"
        # PostgreSQL: a schema of the run's own, dropped at the end
        schema = "" if url.startswith("sqlite") else f"bench_{os.getpid()}"
        settings = Settings(database_url=url, database_schema=schema, argon2_time_cost=1, argon2_memory_kib=8)
        if schema:
            asyncio.run(pg_schema(url, f'CREATE SCHEMA "{schema}"'))
        try:
            run_variants(args, tmp, url, schema, settings)
        finally:
            if schema:
                asyncio.run(pg_schema(url, f'DROP SCHEMA "{schema}" CASCADE'))


async def pg_schema(url: str, statement: str) -> None:
    from sqlalchemy import text

    from ccgraph.db.engine import create_engine

    engine = create_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


def run_variants(args: argparse.Namespace, tmp: str, url: str, schema: str, settings: Settings) -> None:
    token = asyncio.run(prepare(settings, args.users))
    statements = asyncio.run(statements_per_request(settings, token))
    env = os.environ | {
        "CCGRAPH_DATABASE_SCHEMA": schema,
        "CCGRAPH_DATABASE_URL": url,
        "CCGRAPH_LOG_LEVEL": "warning",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_MAX_QUERY_COST": "10000000",
    }
    headers = {"authorization": f"Bearer {token}"}
    body = {"query": QUERY, "variables": {"n": PAGE}}
    results = {}
    variants = {
        "ccgraph": ([sys.executable, "-m", "ccgraph", "serve"], {}, "/graphql", body),
        "core": (
            [sys.executable, "-m", "ccgraph", "serve"],
            {"CCGRAPH_PLANNED_EXECUTION": "false"},
            "/graphql",
            body,
        ),
        "naive": (
            [sys.executable, "-m", "ccgraph", "serve"],
            {"CCGRAPH_DATALOADERS": "false"},
            "/graphql",
            body,
        ),
        "limit": (
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(HERE),
                "limit_app:app",
                "--log-level",
                "warning",
            ],
            {},
            f"/limit?n={PAGE}",
            None,
        ),
    }
    for name, (cmd, extra, path, payload) in variants.items():
        port = free_port()
        log = Path(tmp) / f"{name}.log"
        process = start([*cmd, "--port", str(port)], env | extra, port, log)
        try:
            results[name] = asyncio.run(
                measure(f"http://127.0.0.1:{port}{path}", payload, headers, args.requests, args.seconds)
            )
        except AssertionError:
            print(log.read_text()[-4000:], file=sys.stderr)  # what the server said
            raise
        finally:
            process.terminate()
            process.wait(timeout=30)
    results["ccgraph"]["statements"] = statements
    c, n, lim = results["ccgraph"], results["naive"], results["limit"]
    summary = {
        "ccgraph_over_limit_p50": round(c["p50_ms"] / lim["p50_ms"], 2),
        "ccgraph_over_naive_throughput": round(c["throughput_rps"] / n["throughput_rps"], 2),
        "core_over_ccgraph_p50": round(results["core"]["p50_ms"] / c["p50_ms"], 2),
        "results": results,
        "setup": {"users": args.users, "page": PAGE, "database": url.split(":")[0], "concurrency": [1, 16]},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cores": os.cpu_count(),
        },
    }
    print(f"{'':8} {'p50 ms':>8} {'p99 ms':>8} {'req/s @16':>10} {'statements':>11}")
    for name, r in results.items():
        statements = r.get("statements", "")
        print(f"{name:8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['throughput_rps']:>10} {statements:>11}")
    print(
        f"ccgraph / limit p50: {summary['ccgraph_over_limit_p50']}x; "
        f"ccgraph / naive throughput: {summary['ccgraph_over_naive_throughput']}x"
    )
    (HERE / "results.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
