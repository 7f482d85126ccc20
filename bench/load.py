"""Load: 50 concurrent clients mixing reads and writes for 60 s against `ccgraph serve` on
SQLite (or CCGRAPH_BENCH_DATABASE_URL). Prints requests, requests/s, server errors and
checks afterwards that every write the server acknowledged is in the database.

Run: `make bench` or `python bench/load.py --clients 50 --seconds 60`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter

import httpx
from serving import free_port

READ = """{ users(first: 20) { totalCount edges { node { username team { name } userProfile { name }
  effectiveSettings { capacity { value source } queues { value { name } source } } } } } }"""
CREATE_TEAM = "mutation($n: String!) { teamCreate(input: {name: $n}) { team { id } userErrors { code } } }"
UPDATE = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { version } userErrors { code } } }"
VERSION = "query($id: ID!) { user(id: $id) { version } }"


async def run(args: argparse.Namespace, base: str) -> dict:
    stats: Counter = Counter()
    created: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        login = await http.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "admin", '
                'password: "load-password-1"}) { token } }'
            },
        )
        headers = {"authorization": f"Bearer {login.json()['data']['login']['token']}"}
        users = await http.post(
            "/graphql", json={"query": "{ users(first: 50) { edges { node { id } } } }"}, headers=headers
        )
        ids = [e["node"]["id"] for e in users.json()["data"]["users"]["edges"]]
        stop = time.monotonic() + args.seconds

        async def client(n: int) -> None:
            rng = random.Random(n)
            i = 0
            while time.monotonic() < stop:
                i += 1
                kind = rng.random()
                if kind < 0.7:
                    body = {"query": READ}
                elif kind < 0.85:
                    name = f"load-{n}-{i}"
                    body = {"query": CREATE_TEAM, "variables": {"n": name}}
                else:
                    uid = rng.choice(ids)
                    v = await http.post(
                        "/graphql", json={"query": VERSION, "variables": {"id": uid}}, headers=headers
                    )
                    stats["requests"] += 1
                    version = v.json()["data"]["user"]["version"]
                    body = {
                        "query": UPDATE,
                        "variables": {"i": {"id": uid, "version": version, "city": f"city-{n}-{i}"}},
                    }
                r = await http.post("/graphql", json=body, headers=headers)
                stats["requests"] += 1
                if r.status_code >= 500:
                    stats["server_errors"] += 1
                    continue
                data = r.json().get("data") or {}
                if "teamCreate" in data and data["teamCreate"]["userErrors"] == []:
                    created.append(body["variables"]["n"])
                    stats["writes_acknowledged"] += 1
                elif "userUpdate" in data:
                    errors = data["userUpdate"]["userErrors"]
                    stats["updates_accepted" if not errors else "update_conflicts"] += 1
                for error in r.json().get("errors") or []:
                    stats["graphql_errors"] += 1
                    stats[f"error_{(error.get('extensions') or {}).get('code', 'OTHER')}"] += 1

        started = time.monotonic()
        await asyncio.gather(*(client(n) for n in range(args.clients)))
        elapsed = time.monotonic() - started
        # every acknowledged team is there
        found: set[str] = set()
        after = None
        while True:
            page = await http.post(
                "/graphql",
                json={
                    "query": "query($a: String) { teams(first: 100, after: $a, "
                    'search: "load-") { edges { node { name } } '
                    "pageInfo { hasNextPage endCursor } } }",
                    "variables": {"a": after},
                },
                headers=headers,
            )
            teams = page.json()["data"]["teams"]
            found.update(e["node"]["name"] for e in teams["edges"])
            if not teams["pageInfo"]["hasNextPage"]:
                break
            after = teams["pageInfo"]["endCursor"]
    lost = [name for name in created if name not in found]
    return dict(stats) | {
        "seconds": round(elapsed, 1),
        "requests_per_second": round(stats["requests"] / elapsed, 1),
        "writes_checked": len(created),
        "writes_lost": len(lost),
        "clients": args.clients,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("CCGRAPH_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/load.db"
        env = os.environ | {
            "CCGRAPH_DATABASE_URL": url,
            "CCGRAPH_LOG_LEVEL": "warning",
            "CCGRAPH_ARGON2_TIME_COST": "1",
            "CCGRAPH_ARGON2_MEMORY_KIB": "8",
        }
        py = [sys.executable, "-m", "ccgraph"]
        subprocess.run(
            [*py, "init", "--admin-password", "load-password-1"], env=env, check=True, capture_output=True
        )
        subprocess.run([*py, "demo"], env=env, check=True, capture_output=True)
        port = free_port()
        log_path = os.path.join(tmp, "server.log")
        server = subprocess.Popen(
            [*py, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(log_path, "w"),  # noqa: SIM115
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            figures = asyncio.run(run(args, base))
        finally:
            server.terminate()
            server.wait(timeout=30)
            with open(log_path) as log:
                unexpected = [line for line in log if "Error" in line or "unexpected" in line]
            if unexpected:
                print("server log:", *unexpected[-10:], sep="\n  ", file=sys.stderr)
    f = figures
    print(
        f"load: {f['requests']} requests in {f['seconds']} s ({f['requests_per_second']}/s) "
        f"from {f['clients']} clients; server errors {f.get('server_errors', 0)}; "
        f"writes checked {f['writes_checked']}, lost {f['writes_lost']}; "
        f"updates accepted {f.get('updates_accepted', 0)}, conflicts {f.get('update_conflicts', 0)}"
    )
    print(json.dumps(figures))
    if figures.get("server_errors") or figures["writes_lost"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
