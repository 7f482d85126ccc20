"""The hot path: a page of users with their nested settings, in process over the ASGI app.

Prints, for page sizes 10 and 100: SQL statements per request, latency p50/p99 and the response
size. A generated organisation on a temporary SQLite file (or CCGRAPH_BENCH_DATABASE_URL).
Run: `make bench` (or `python bench/nested_query.py --users 1000 --rounds 30`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event, insert

from ccgraph.app import create_app
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import session_factory
from ccgraph.db.migrate import upgrade
from ccgraph.enums import Channel
from ccgraph.services.bootstrap import initialize

QUERY = """query($n: Int!) { users(first: $n) { edges { node {
  username team { name } userProfile { name } queues { name } workStreams { name }
  securityProfiles { name }
  skills(first: 20) { edges { proficiency node { name } } }
  effectiveSettings { capacity { value source } queues { value { name } source }
    workStreams { value { name } source } }
} } } }"""


async def organisation(app, users: int) -> None:
    async with session_factory(app.state.engine)() as db:
        await initialize(db, app.state.passwords, admin_username="admin", admin_password="bench-password")
        unit = await db.get(m.BusinessUnit, 1)
        bu = unit.id
        teams = [m.Team(business_unit_id=bu, name=f"Team {i}") for i in range(20)]
        queues = [m.Queue(business_unit_id=bu, name=f"Queue {i}") for i in range(200)]
        streams = [
            m.WorkStream(business_unit_id=bu, name=f"Stream {i}", channel=Channel.CHAT) for i in range(10)
        ]
        skills = [m.Skill(business_unit_id=bu, name=f"Skill {i}") for i in range(500)]
        profiles = [m.UserProfile(business_unit_id=bu, name=f"Profile {i}", capacity=40) for i in range(50)]
        db.add_all([*teams, *queues, *streams, *skills, *profiles])
        await db.flush()
        for i, p in enumerate(profiles):
            await db.execute(
                insert(m.user_profile_queues),
                [{"user_profile_id": p.id, "queue_id": queues[(i * 4 + k) % 200].id} for k in range(4)],
            )
            await db.execute(
                insert(m.user_profile_work_streams),
                [{"user_profile_id": p.id, "work_stream_id": streams[(i + k) % 10].id} for k in range(2)],
            )
        rows = [
            {
                "business_unit_id": bu,
                "username": f"agent{i:05}",
                "first_name": "Agent",
                "last_name": f"{i:05}",
                "email": f"agent{i}@example.com",
                "team_id": teams[i % 20].id,
                "user_profile_id": profiles[i % 50].id,
                "capacity": 50 if i % 3 == 0 else None,
            }
            for i in range(users)
        ]
        await db.execute(insert(m.User), rows)
        ids = [
            u.id
            for u in (await db.execute(m.User.__table__.select().where(m.User.username.like("agent%")))).all()
        ]
        await db.execute(insert(m.user_queues), [{"user_id": u, "queue_id": queues[u % 200].id} for u in ids])
        await db.execute(
            insert(m.UserSkill),
            [
                {"user_id": u, "skill_id": skills[(u * 7 + k) % 500].id, "proficiency": 1 + (u + k) % 20}
                for u in ids
                for k in range(5 + u % 16)
            ],
        )
        await db.commit()


async def run(args: argparse.Namespace) -> dict:
    url = os.environ.get("CCGRAPH_BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    if not url:
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8)
    app = create_app(settings)
    await upgrade(app.state.engine)
    await organisation(app, args.users)
    statements = 0

    def count(*_a) -> None:
        nonlocal statements
        statements += 1

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
        },
        "database": url.split(":")[0],
        "users": args.users,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = await client.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "admin", '
                'password: "bench-password"}) { token } }'
            },
        )
        headers = {"authorization": f"Bearer {login.json()['data']['login']['token']}"}
        for n in (10, 100):
            timings, size = [], 0
            for i in range(args.rounds + 3):
                statements = 0
                start = time.perf_counter()
                r = await client.post(
                    "/graphql", json={"query": QUERY, "variables": {"n": n}}, headers=headers
                )
                elapsed = time.perf_counter() - start
                assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]
                if i >= 3:  # warm-up rounds are not counted
                    timings.append(elapsed * 1000)
                size = len(r.content)
            timings.sort()
            results[f"page_{n}"] = {
                "statements": statements,
                "p50_ms": round(statistics.median(timings), 2),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
                "bytes": size,
            }
    await app.state.engine.dispose()
    tmp.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"{'page':>6} {'statements':>11} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}")
    for n in (10, 100):
        r = results[f"page_{n}"]
        print(f"{n:>6} {r['statements']:>11} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['bytes']:>9}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
