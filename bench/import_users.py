"""Bulk import at scale: generate a CSV of N users (default 10,000) and import it with
`ccgraph import` into a fresh SQLite database (or CCGRAPH_BENCH_DATABASE_URL). Prints the
wall time, rows per second and the importing process's peak memory.

Goal: 10,000 users in under 10 s and under 300 MiB. Run: `make bench` or
`python bench/import_users.py --users 10000`."""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = [
    "username",
    "firstName",
    "lastName",
    "email",
    "team",
    "securityProfiles",
    "skills",
    "queues",
    "timezone",
    "country",
    "city",
    "capacity",
    "phone.type",
    "Custom 1",
]


def generate(path: Path, users: int) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(users):
            writer.writerow(
                [
                    f"agent{i:06}",
                    "Agent",
                    f"Number {i}",
                    f"agent{i}@example.com",
                    f"Team {i % 20}",
                    "Agent",
                    f"Skill {i % 50}={1 + i % 20};Skill {(i + 7) % 50}={1 + (i + 3) % 20}",
                    f"Queue {i % 30}",
                    "Europe/London",
                    "GB",
                    "London",
                    str(20 + i % 40),
                    "SOFTPHONE",
                    "Full-time",
                ]
            )


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("CCGRAPH_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/bench.db"
        env = os.environ | {
            "CCGRAPH_DATABASE_URL": url,
            "CCGRAPH_ARGON2_TIME_COST": "1",
            "CCGRAPH_ARGON2_MEMORY_KIB": "8",
            "CCGRAPH_MAX_IMPORT_ROWS": str(args.users),
        }
        py = [sys.executable, "-m", "ccgraph"]
        run([*py, "init", "--admin-password", "bench-password-1"], env).check_returncode()
        setup = Path(tmp) / "setup.py"
        setup.write_text(SETUP)
        subprocess.run([sys.executable, str(setup)], env=env, check=True)
        data = Path(tmp) / "users.csv"
        generate(data, args.users)
        start = time.perf_counter()
        result = run([*py, "import", str(data)], env)
        elapsed = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if result.returncode != 0:
            print(result.stdout[-2000:], result.stderr[-2000:])
            raise SystemExit(result.returncode)
        summary = result.stdout.strip().splitlines()[-1]
        figures = {
            "users": args.users,
            "seconds": round(elapsed, 2),
            "rows_per_second": round(args.users / elapsed),
            "peak_rss_mib": round(peak_mib, 1),
            "database": url.split(":")[0],
            "summary": summary,
        }
        print(
            f"imported {args.users} users in {elapsed:.2f} s: {args.users / elapsed:,.0f} rows/s, "
            f"peak memory {peak_mib:.0f} MiB ({summary})"
        )
        print(json.dumps(figures))


SETUP = """
import asyncio
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.enums import Channel, Permission

async def main():
    engine = create_engine(Settings.from_env())
    async with session_factory(engine)() as db:
        bu = 1
        db.add_all([m.Team(business_unit_id=bu, name=f"Team {i}") for i in range(20)])
        db.add_all([m.Queue(business_unit_id=bu, name=f"Queue {i}") for i in range(30)])
        db.add_all([m.Skill(business_unit_id=bu, name=f"Skill {i}") for i in range(50)])
        agent = m.SecurityProfile(
            business_unit_id=bu, name="Agent", permissions=[Permission.USERS_VIEW.value]
        )
        db.add(agent)
        await db.commit()
    await engine.dispose()

asyncio.run(main())
"""

if __name__ == "__main__":
    main()
