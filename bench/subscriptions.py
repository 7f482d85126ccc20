"""Subscriptions under load: a real `ccgraph serve` (one worker), 1,000 open subscriptions over
as many WebSockets (graphql-transport-ws), and 100 changes a second made over HTTP by another
client (`usersUpdate` of 10 users, 10 times a second: a change, and an event, each user), for
some seconds. Each subscription follows one user (`userChanged(filter: {userIds})`, the user's
city resolved for it); each change goes to the subscriptions of its user (subscriptions / users
of them: 10 by default, so 1,000 deliveries a second), signed in with one of `--sessions`
sessions (read again when a change may have altered them, as delivery requires).

Prints the delivery latency p50/p99/max, from the change's commit (its event's `occurredAt`) to
its receipt, and from its mutation being sent; the changes and deliveries made and lost; the
server's RSS before the sockets opened, with them open, and at the end. Writes them under
`subscriptions` in bench/results.json (keeping the other keys). SQLite by default;
CCGRAPH_BENCH_DATABASE_URL for PostgreSQL. Run: `make bench` or `python bench/subscriptions.py
[--subscriptions 1000] [--rate 100] [--seconds 10] [--users 100] [--sessions 100] [--per-request 10]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).parent))
from serving import database, free_port, start

from ccgraph.auth.passwords import Passwords
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.db.migrate import upgrade
from ccgraph.services.bootstrap import initialize

HERE = Path(__file__).parent
PASSWORD = "bench-admin-password"
SUBSCRIBE = """subscription($id: ID!) { userChanged(filter: {userIds: [$id]}) {
  eventId occurredAt user { city } } }"""
UPDATE = """mutation($i: UsersUpdateInput!) { usersUpdate(input: $i) { results { user { version } } } }"""


async def generate(settings: Settings, users: int) -> list[int]:
    """Migrate, the administrator, and `users` users to change: their ids."""
    engine = create_engine(settings)
    await upgrade(engine)
    async with session_factory(engine)() as db:
        await initialize(db, Passwords(settings), admin_username="admin", admin_password=PASSWORD)
        unit = (await db.execute(select(m.BusinessUnit).order_by(m.BusinessUnit.id))).scalars().first()
        assert unit is not None
        rows = [
            {
                "business_unit_id": unit.id,
                "username": f"watched{i}",
                "first_name": "Watched",
                "last_name": f"User {i}",
                "email": f"watched{i}@example.com",
            }
            for i in range(users)
        ]
        ids = list((await db.execute(insert(m.User).returning(m.User.id), rows)).scalars())
        await db.commit()
    await engine.dispose()
    return ids


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def gid(type_name: str, pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64(type_name, pk)


class Tally:
    """Deliveries while measuring, and an event once `target` of them have arrived."""

    def __init__(self) -> None:
        self.received = 0
        self.target: int | None = None
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.received += 1
        if self.target is not None and self.received >= self.target:
            self.reached.set()


TALLY = Tally()


class Subscription:
    def __init__(self, ws: ClientConnection, user: str) -> None:
        self.ws = ws
        self.user = user
        self.latencies: list[float] = []  # ms from the change's commit (occurredAt), while measuring
        self.end_to_end: list[float] = []  # ms from its mutation being sent
        self.received = 0
        self.measuring = False

    async def run(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            self.received += 1
            event = message["payload"]["data"]["userChanged"]
            city = event["user"]["city"]
            if self.measuring and city.startswith("t"):
                now = time.time()
                self.latencies.append((now - datetime.fromisoformat(event["occurredAt"]).timestamp()) * 1000)
                self.end_to_end.append((now - float(city[1:])) * 1000)
                TALLY.add()


async def subscribe(host: str, token: str, user: str) -> Subscription:
    ws = await connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    payload = {"query": SUBSCRIBE, "variables": {"id": user}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return Subscription(ws, user)


class Writer:
    """Changes a group of users in one `usersUpdate` (a change, an event, each), keeping their
    versions; their city says when the change was sent."""

    def __init__(self, client: httpx.AsyncClient, token: str, users: list[str]) -> None:
        self.client = client
        self.headers = {"authorization": f"Bearer {token}"}
        self.users = users
        self.versions: dict[str, int] = {}
        self.made = 0
        self.failed = 0

    async def change(self, city: str | None = None) -> None:
        if len(self.versions) < len(self.users):
            r = await self.client.post(
                "/graphql",
                json={"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { version } } }",
                      "variables": {"ids": self.users}},
                headers=self.headers,
            )  # fmt: skip
            self.versions = {n["id"]: n["version"] for n in r.json()["data"]["nodes"]}
        city = city or f"t{time.time():.6f}"
        rows = [{"id": u, "version": self.versions[u], "city": city} for u in self.users]
        r = await self.client.post(
            "/graphql",
            json={"query": UPDATE, "variables": {"i": {"users": rows, "atomic": False}}},
            headers=self.headers,
        )
        results = r.json()["data"]["usersUpdate"]["results"] if r.status_code == 200 else []
        for user, result in zip(self.users, results, strict=False):
            if result["user"] is None:
                self.failed += 1
                self.versions.pop(user, None)
            else:
                self.versions[user] = result["user"]["version"]
                self.made += 1

    async def every(self, period: float, offset: float, stop: float) -> None:
        next_at = time.monotonic() + offset
        while next_at < stop:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await self.change()
            next_at += period


async def run(host: str, pid: int, ids: list[int], args: argparse.Namespace) -> dict:
    users = [gid("User", i) for i in ids]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=60, limits=limits) as client:
        tokens = []
        for _ in range(args.sessions):
            r = await client.post(
                "/graphql",
                json={
                    "query": 'mutation($p: String!) { login(input: {username: "admin", password: $p}) '
                    "{ token } }",
                    "variables": {"p": PASSWORD},
                },
            )
            tokens.append(r.json()["data"]["login"]["token"])
        rss_before = rss_mb(pid)

        gate = asyncio.Semaphore(50)

        async def opened(i: int) -> Subscription:
            async with gate:
                return await subscribe(host, tokens[i % len(tokens)], users[i % len(users)])

        started = time.perf_counter()
        subscriptions = await asyncio.gather(*(opened(i) for i in range(args.subscriptions)))
        open_seconds = time.perf_counter() - started
        readers = [asyncio.create_task(s.run()) for s in subscriptions]
        groups = [users[k : k + args.per_request] for k in range(0, len(users), args.per_request)]
        writers = [Writer(client, tokens[0], group) for group in groups]

        # Every subscription registered: each hears of a first change of its user.
        deadline = time.monotonic() + 120
        while any(s.received == 0 for s in subscriptions):
            assert time.monotonic() < deadline, "subscriptions that never heard of a change"
            await asyncio.gather(*(w.change("warm-up") for w in writers))
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)
        rss_open = rss_mb(pid)

        for s in subscriptions:
            s.measuring = True
            s.received = 0
        made_before = sum(w.made for w in writers)
        period = len(users) / args.rate  # each writer changes its users once a period
        stop = time.monotonic() + args.seconds
        began = time.perf_counter()
        await asyncio.gather(
            *(w.every(period, k * period / len(writers), stop) for k, w in enumerate(writers))
        )
        writing = time.perf_counter() - began
        made = sum(w.made for w in writers) - made_before
        expected = made * args.subscriptions // len(users)
        TALLY.target = expected
        if TALLY.received < expected:
            with contextlib.suppress(TimeoutError):  # what is still on its way, at most 30 s more
                await asyncio.wait_for(TALLY.reached.wait(), 30)
        rss_end = rss_mb(pid)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(s.ws.close() for s in subscriptions), return_exceptions=True)

    latencies = sorted(x for s in subscriptions for x in s.latencies)
    end_to_end = sorted(x for s in subscriptions for x in s.end_to_end)
    delivered = TALLY.received
    return {
        "subscriptions": args.subscriptions,
        "sessions": args.sessions,
        "users_followed": len(users),
        "seconds": args.seconds,
        "changes": made,
        "changes_per_second": round(made / writing, 1),
        "failed_changes": sum(w.failed for w in writers),
        "deliveries": delivered,
        "deliveries_expected": expected,
        "deliveries_per_second": round(delivered / writing, 1),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "latency_max_ms": round(latencies[-1], 1) if latencies else None,
        "end_to_end_p50_ms": round(statistics.median(end_to_end), 1) if end_to_end else None,
        "end_to_end_p99_ms": round(end_to_end[int(len(end_to_end) * 0.99) - 1], 1) if end_to_end else None,
        "open_seconds": round(open_seconds, 1),
        "rss_mb_before": rss_before,
        "rss_mb_subscribed": rss_open,
        "rss_mb_end": rss_end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100, help="changes a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=100, help="users followed (and changed)")
    parser.add_argument("--sessions", type=int, default=100, help="sessions the subscriptions sign in with")
    parser.add_argument("--per-request", type=int, default=10, help="users changed by one usersUpdate")
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    server_env = {
        "CCGRAPH_LOG_LEVEL": "warning",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_WEBHOOKS_POLL_SECONDS": "0",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    with tempfile.TemporaryDirectory() as tmp, database(tmp, "subscriptions") as env:
        settings = Settings(
            database_url=env["CCGRAPH_DATABASE_URL"],
            database_schema=env.get("CCGRAPH_DATABASE_SCHEMA", ""),
            argon2_time_cost=1,
            argon2_memory_kib=8,
        )
        ids = asyncio.run(generate(settings, args.users))
        port = free_port()
        cmd = [sys.executable, "-m", "ccgraph", "serve", "--port", str(port)]
        process = start(cmd, os.environ | env | server_env, port, Path(tmp) / "server.log")
        try:
            figures = asyncio.run(run(f"127.0.0.1:{port}", process.pid, ids, args))
        finally:
            process.terminate()
            process.wait(timeout=30)
    figures |= {
        "database": "postgresql" if "CCGRAPH_DATABASE_SCHEMA" in env else "sqlite",
        "machine": {"python": platform.python_version(), "cores": os.cpu_count()},
    }
    print(
        f"{figures['subscriptions']} subscriptions ({figures['sessions']} sessions), "
        f"{figures['changes_per_second']} changes/s for {figures['seconds']} s on {figures['database']}: "
        f"delivery latency (commit to receipt) p50 {figures['latency_p50_ms']} ms, "
        f"p99 {figures['latency_p99_ms']} ms, max {figures['latency_max_ms']} ms; from the mutation sent "
        f"p50 {figures['end_to_end_p50_ms']} ms, p99 {figures['end_to_end_p99_ms']} ms; "
        f"{figures['deliveries']}/{figures['deliveries_expected']} "
        f"deliveries ({figures['deliveries_per_second']}/s), {figures['failed_changes']} changes refused; "
        f"server RSS {figures['rss_mb_before']} MB before, {figures['rss_mb_subscribed']} MB subscribed, "
        f"{figures['rss_mb_end']} MB at the end"
    )
    kept = json.loads(args.output.read_text()) if args.output.exists() else {}
    args.output.write_text(json.dumps(kept | {"subscriptions": figures}, indent=2))


if __name__ == "__main__":
    main()
