"""The product's hot path, measured against its floor. Starts four real servers on one
generated organisation (5,000 users, 50 profiles, 200 queues, 500 skills, 5-20 skills a user):

- ccgraph: `ccgraph serve`, the nested page query for 100 users;
- core:    the same, with graphql-core's own executor (CCGRAPH_PLANNED_EXECUTION=false);
- naive:   the same, with the dataloaders off (CCGRAPH_DATALOADERS=false: a statement per row);
- limit:   bench/limit_app.py, the same rows with hand-written SQLAlchemy Core, the same JSON.

All four serve at once. Latency p50/p99/min at concurrency 1 is measured in rounds, one request
to each server in turn, so that a slow spell of the machine touches every variant alike; then
throughput at concurrency 16 in three rounds, each server on its own for a third of the time
in every round; then ccgraph and limit with two workers each, alike; SQL statements per request
(ccgraph, counted in process). Prints a table and writes bench/results.json.
SQLite by default; CCGRAPH_BENCH_DATABASE_URL for PostgreSQL.
Run: `make bench` or `python bench/hot_path.py [--users 5000] [--requests 100] [--seconds 15]
[--baseline OTHER/src]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
from nested_query import QUERY, organisation
from serving import as_autovacuum_leaves_it, free_port, pg_schema, start

from ccgraph.app import create_app
from ccgraph.config import Settings
from ccgraph.db.migrate import upgrade

HERE = Path(__file__).parent
PAGE = 100
ROUNDS = 3  # throughput rounds (see `throughputs`)


def caller(client: httpx.AsyncClient, url: str, body: dict | None, headers: dict):
    async def call() -> float:
        started = time.perf_counter()
        r = await client.post(url, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert r.status_code == 200 and b'"errors"' not in r.content[:200], r.text[:300]
        return elapsed * 1000

    return call


async def worker(call, stop: float) -> tuple[int, int]:
    """Requests answered and requests failed until `stop`. Under load the naive variant can
    run out of database connections (an answer of SERVICE_UNAVAILABLE): that is counted and
    shown, not allowed to end the run."""
    done = failed = 0
    while time.perf_counter() < stop:
        try:
            await call()
            done += 1
        except AssertionError:
            failed += 1
    return done, failed


async def latency(targets: dict[str, tuple], headers: dict, requests: int) -> dict[str, dict]:
    """p50, p99 and min at concurrency 1, in rounds: one request to each server in turn, so
    that a slow spell of the machine touches every variant alike."""
    async with httpx.AsyncClient(timeout=120) as client:
        calls = {name: caller(client, url, body, headers) for name, (url, body) in targets.items()}
        timings: dict[str, list[float]] = {name: [] for name in targets}
        for round_ in range(requests + 3):
            for name, call in calls.items():
                elapsed = await call()
                if round_ >= 3:  # warm-up rounds are not counted
                    timings[name].append(elapsed)
    results = {}
    for name, measured in timings.items():
        ordered = sorted(measured)
        results[name] = {
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "min_ms": round(ordered[0], 2),
        }
    return results


async def throughput(target: tuple, headers: dict, seconds: float) -> tuple[int, int, float]:
    """Requests served and failed at concurrency 16 in `seconds`, and the time taken; a new
    connection for every request (as clients behind a load balancer that does not keep them)."""
    url, body = target
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        call = caller(client, url, body, headers)
        started = time.perf_counter()
        counts = await asyncio.gather(*(worker(call, started + seconds) for _ in range(16)))
    return sum(d for d, _ in counts), sum(f for _, f in counts), time.perf_counter() - started


def throughputs(targets: dict[str, tuple], headers: dict, seconds: float) -> dict[str, dict]:
    """Each server's requests a second at concurrency 16, measured in ROUNDS rounds of
    `seconds / ROUNDS` each, one server after another in every round, so that a slow spell
    of the machine touches every server alike (as `latency` does): the ratios between
    servers are of the same minutes. Also how many failed, and how many were served."""
    totals = {name: [0, 0, 0.0] for name in targets}
    for _ in range(ROUNDS):
        for name, target in targets.items():
            done, failed, took = asyncio.run(throughput(target, headers, seconds / ROUNDS))
            total = totals[name]
            total[0], total[1], total[2] = total[0] + done, total[1] + failed, total[2] + took
    return {
        name: {"rate": round(done / took, 1), "failed": failed, "done": done}
        for name, (done, failed, took) in totals.items()
    }


async def same_answer(targets: dict[str, tuple], headers: dict) -> bool:
    async with httpx.AsyncClient(timeout=120) as client:
        answers = [
            (await client.post(url, json=body, headers=headers)).json() for url, body in targets.values()
        ]
    return all(a == answers[0] for a in answers)


async def top_up(target: tuple, headers: dict, pages: int) -> None:
    """Serve `pages` more pages, four at a time."""
    async with httpx.AsyncClient(timeout=120) as client:
        call = caller(client, *target, headers)
        for _ in range(0, pages, 4):
            await asyncio.gather(*(call() for _ in range(4)))


def rss_mb(pid: int) -> float:
    """A process's resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


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
    await as_autovacuum_leaves_it(app.state.engine)
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
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--baseline",
        metavar="SRC",
        help="also serve the ccgraph of another source tree (its src/ folder, e.g. of a `git worktree "
        "add` of the commit before a change) in the same rounds, as `baseline`",
    )
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
    if args.baseline:
        baseline = {"PYTHONPATH": str(Path(args.baseline).resolve())}
        variants["baseline"] = ([sys.executable, "-m", "ccgraph", "serve"], baseline, "/graphql", body)
    processes, targets = [], {}

    def serve(name: str, cmd: list[str], extra: dict, path: str, payload: dict | None, workers: int = 1):
        port = free_port()
        log = Path(tmp) / f"{name}-{workers}.log"
        process = start([*cmd, "--port", str(port), "--workers", str(workers)], env | extra, port, log)
        processes.append((process, log))
        return process, (f"http://127.0.0.1:{port}{path}", payload)

    try:
        pids = {}
        for name, (cmd, extra, path, payload) in variants.items():
            pids[name], targets[name] = serve(name, cmd, extra, path, payload)
        try:
            results = asyncio.run(latency(targets, headers, args.requests))
            served = dict.fromkeys(targets, args.requests + 3)
            for name, measured in throughputs(targets, headers, args.seconds).items():
                results[name] |= {"throughput_rps": measured["rate"], "failed_at_16": measured["failed"]}
                served[name] += measured["done"]
            agree = asyncio.run(same_answer(targets, headers))
            for name in ("ccgraph", "limit"):  # memory once the server has served 1,000 pages
                asyncio.run(top_up(targets[name], headers, max(0, 1000 - served[name])))
                results[name]["rss_mb_after_1000_pages"] = rss_mb(pids[name].pid)
            two = {}  # two workers each, served once the one-worker servers are done
            for process, _ in processes:
                process.terminate()
                process.wait(timeout=30)
            for name in ("ccgraph", "limit"):
                cmd, extra, path, payload = variants[name]
                _, two[name] = serve(name, cmd, extra, path, payload, workers=2)
            for name, measured in throughputs(two, headers, args.seconds).items():
                results[name] |= {
                    "throughput_rps_2_workers": measured["rate"],
                    "failed_at_16_2_workers": measured["failed"],
                }
        except AssertionError:
            for _, log in processes:
                print(log.read_text()[-4000:], file=sys.stderr)  # what the servers said
            raise
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    measured = {"variants": results, "same_answer": agree}
    results = measured["variants"]
    results["ccgraph"]["statements"] = statements
    c, n, lim = results["ccgraph"], results["naive"], results["limit"]
    summary = {
        "ccgraph_over_limit_p50": round(c["p50_ms"] / lim["p50_ms"], 2),
        "ccgraph_over_limit_min": round(c["min_ms"] / lim["min_ms"], 2),
        "limit_over_ccgraph_throughput": round(lim["throughput_rps"] / c["throughput_rps"], 2),
        "limit_over_ccgraph_throughput_2_workers": round(
            lim["throughput_rps_2_workers"] / c["throughput_rps_2_workers"], 2
        ),
        "rss_mb_after_1000_pages": c["rss_mb_after_1000_pages"],
        "ccgraph_over_naive_throughput": round(c["throughput_rps"] / n["throughput_rps"], 2),
        "core_over_ccgraph_p50": round(results["core"]["p50_ms"] / c["p50_ms"], 2),
        "ccgraph_over_baseline_p50": (
            round(c["p50_ms"] / results["baseline"]["p50_ms"], 2) if "baseline" in results else None
        ),
        "same_answer": measured["same_answer"],
        "results": results,
        "setup": {
            "users": args.users,
            "page": PAGE,
            "database": url.split(":")[0],
            "concurrency": [1, 16],
            "throughput": "new connection per request",
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cores": os.cpu_count(),
        },
    }
    print(
        f"{'':8} {'p50 ms':>8} {'p99 ms':>8} {'min ms':>8} {'req/s @16':>10} {'2 workers':>10} "
        f"{'failed @16':>10} {'RSS MB@1000':>11} {'statements':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['min_ms']:>8} {r['throughput_rps']:>10} "
            f"{r.get('throughput_rps_2_workers', ''):>10} {r['failed_at_16']:>10} "
            f"{r.get('rss_mb_after_1000_pages', ''):>11} {r.get('statements', ''):>11}"
        )
    print(
        f"ccgraph / limit: p50 {summary['ccgraph_over_limit_p50']}x, "
        f"min {summary['ccgraph_over_limit_min']}x; "
        f"limit / ccgraph throughput: {summary['limit_over_ccgraph_throughput']}x (1 worker), "
        f"{summary['limit_over_ccgraph_throughput_2_workers']}x (2 workers); "
        f"ccgraph / naive throughput: {summary['ccgraph_over_naive_throughput']}x; "
        f"core / ccgraph p50: {summary['core_over_ccgraph_p50']}x; "
        f"ccgraph RSS after 1,000 pages: {summary['rss_mb_after_1000_pages']} MB; "
        f"same answer from all: {summary['same_answer']}"
    )
    if args.baseline:
        b = results["baseline"]
        print(
            f"ccgraph / baseline: p50 {summary['ccgraph_over_baseline_p50']}x, "
            f"min {round(c['min_ms'] / b['min_ms'], 2)}x, "
            f"throughput {round(c['throughput_rps'] / b['throughput_rps'], 2)}x"
        )
    # bench/scale.py keeps its figures in the same file: keep what is not ours
    path = HERE / "results.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(kept | summary, indent=2))


if __name__ == "__main__":
    main()
