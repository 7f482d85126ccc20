"""Stall: does a heavy request make others wait? Against `ccgraph serve` on SQLite (or
CCGRAPH_BENCH_DATABASE_URL), with the production argon2 cost, it runs a maximal import (a CSV
of CCGRAPH_MAX_IMPORT_ROWS rows) and then a 1,000-user `usersCreate` with a password each,
while a probe reads /healthz and signs in every 100 ms. It prints the worst and median wait of
each probe (goal: under 250 ms) and the server's peak resident memory against its idle size
(goal: under 2x), read from /proc.

Run: `make bench` or `python bench/stall.py [--rows 10000] [--users 1000]`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
from serving import database, free_port, start

PASSWORD = "stall-password-1"
LOGIN = {"query": f'mutation {{ login(input: {{username: "admin", password: "{PASSWORD}"}}) {{ token }} }}'}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def import_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "firstName", "lastName", "email", "securityProfiles", "team"])
    writer.writerows(
        [f"filed{i}", "Filed", f"User {i}", f"filed{i}@example.com", "Agent", "Tier 1"] for i in range(rows)
    )
    return out.getvalue().encode()


async def probe(
    http: httpx.AsyncClient, stop: asyncio.Event, phase: list[str], waits: dict[str, list[float]]
) -> None:
    """Every 100 ms: /healthz, then a sign-in; each wait filed under the phase it began in."""
    while not stop.is_set():
        for name, call in (("healthz", http.get("/healthz")), ("sign_in", http.post("/graphql", json=LOGIN))):
            started, during = time.perf_counter(), phase[0]
            response = await call
            waits[f"{name}_during_{during}"].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:300]
        await asyncio.sleep(0.1)


async def sample(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid))
        await asyncio.sleep(0.1)


async def run(base: str, pid: int, args: argparse.Namespace) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        token = (await http.post("/graphql", json=LOGIN)).json()["data"]["login"]["token"]
        auth = {"authorization": f"Bearer {token}"}
        profiles = await http.post(
            "/graphql", json={"query": "{ securityProfiles { nodes { id name } } }"}, headers=auth
        )
        supervisor = next(
            p["id"] for p in profiles.json()["data"]["securityProfiles"]["nodes"] if p["name"] == "Supervisor"
        )
        for _ in range(5):  # warm up before the idle reading
            await http.get("/healthz")
            await http.post("/graphql", json=LOGIN)
        idle = rss_kib(pid)
        waits: dict[str, list[float]] = defaultdict(list)
        stop, peak, phase = asyncio.Event(), [idle], ["import"]
        watchers = [
            asyncio.create_task(probe(http, stop, phase, waits)),
            asyncio.create_task(sample(pid, stop, peak)),
        ]
        started = time.perf_counter()
        operations = {
            "query": "mutation($file: Upload!) { usersImport(input: "
            "{file: $file, format: CSV, mode: CREATE}) { created failed userErrors { code } } }",
            "variables": {"file": None},
        }
        imported = await http.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": ("users.csv", import_file(args.rows), "text/csv")},
            headers=auth,
        )
        import_seconds = time.perf_counter() - started
        phase[0] = "create"
        users = [
            {
                "username": f"bulk{i}",
                "firstName": "Bulk",
                "lastName": f"User {i}",
                "email": f"bulk{i}@example.com",
                "securityProfileIds": [supervisor],
                "password": f"{PASSWORD}-{i}",
                "passwordConfirmation": f"{PASSWORD}-{i}",
            }
            for i in range(args.users)
        ]
        started = time.perf_counter()
        created = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: UsersCreateInput!) { usersCreate(input: $i) { userErrors { code } } }",
                "variables": {"i": {"users": users}},
            },
            headers=auth,
        )
        create_seconds = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*watchers)
    result = imported.json()["data"]["usersImport"]
    return {
        "import_rows": args.rows,
        "import_created": result["created"],
        "import_seconds": round(import_seconds, 1),
        "create_users": args.users,
        "create_errors": len(created.json()["data"]["usersCreate"]["userErrors"]),
        "create_seconds": round(create_seconds, 1),
        **{
            f"{name}_{stat}_ms": round(f(values), 1)
            for name, values in waits.items()
            for stat, f in (("worst", max), ("p50", statistics.median))
        },
        "probes": sum(len(v) for v in waits.values()),
        "idle_rss_mib": round(idle / 1024, 1),
        "peak_rss_mib": round(peak[0] / 1024, 1),
        "peak_over_idle": round(peak[0] / idle, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(tmp, "stall") as db_env:
        env = os.environ | db_env | {"CCGRAPH_LOG_LEVEL": "warning"}
        env["CCGRAPH_MAX_IMPORT_ROWS"] = str(args.rows)
        py = [sys.executable, "-m", "ccgraph"]
        subprocess.run([*py, "init", "--admin-password", PASSWORD], env=env, check=True, capture_output=True)
        subprocess.run([*py, "demo"], env=env, check=True, capture_output=True)
        port = free_port()
        server = start([*py, "serve", "--port", str(port)], env, port, Path(tmp) / "server.log")
        try:
            figures = asyncio.run(run(f"http://127.0.0.1:{port}", server.pid, args))
        finally:
            server.terminate()
            server.wait(timeout=30)
    f = figures
    print(
        f"stall: import of {f['import_rows']} rows {f['import_seconds']} s, "
        f"usersCreate of {f['create_users']} {f['create_seconds']} s; memory idle {f['idle_rss_mib']} MiB, "
        f"peak {f['peak_rss_mib']} MiB ({f['peak_over_idle']}x)"
    )
    for phase in ("import", "create"):
        print(
            f"  during the {phase}: worst wait /healthz {f[f'healthz_during_{phase}_worst_ms']} ms "
            f"(p50 {f[f'healthz_during_{phase}_p50_ms']}), "
            f"sign-in {f[f'sign_in_during_{phase}_worst_ms']} ms (p50 {f[f'sign_in_during_{phase}_p50_ms']})"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
