"""Bulk import at scale: generate a CSV of N users (default 10,000) and import it with
`ccgraph import` into a fresh SQLite database (or CCGRAPH_BENCH_DATABASE_URL). Prints the
wall time, rows per second and the importing process's peak memory.

Goal: 10,000 users in under 10 s and under 300 MiB. Run: `make bench` or
`python bench/import_users.py --users 10000`."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ccgraph.config import Settings
from ccgraph.services import sample_import


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
        sample_import.prepare(Settings.from_env(env))
        data = Path(tmp) / "users.csv"
        sample_import.write_file(data, args.users)
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


if __name__ == "__main__":
    main()
