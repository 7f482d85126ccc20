"""Scale-out on PostgreSQL: several server processes on one database. Runs when
CCGRAPH_TEST_DATABASE_URL is set (`.ci/run` sets it when a server answers)."""

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import select

from ccgraph.db import models as m
from ccgraph.services.mail import MailSender, enqueue
from tests import factories as f
from tests.conftest import ADMIN_PASSWORD, PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs CCGRAPH_TEST_DATABASE_URL (PostgreSQL)")

WORKERS = 4
CLIENTS = 50
SECONDS = float(os.environ.get("CCGRAPH_CONCURRENCY_SECONDS", "30"))
USERS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, admin):
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    port = free_port()
    env = os.environ | {
        "CCGRAPH_DATABASE_URL": settings.database_url,
        "CCGRAPH_DATABASE_SCHEMA": settings.database_schema,
        "CCGRAPH_DB_POOL_SIZE": "5",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_LOG_LEVEL": "warning",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ccgraph", "serve", "--workers", str(WORKERS), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(process.stderr.read().decode()[-2000:])
    yield base
    process.terminate()
    process.wait(timeout=30)


UPDATE = """mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { version city } userErrors { code } } }"""
READ = "query($id: ID!) { user(id: $id) { version } }"


async def test_fifty_clients_four_workers_every_accepted_update_stays(server, db):
    unit = await db.get(m.BusinessUnit, 1)
    ids = [(await f.user(db, unit, f"contended{i}")).id for i in range(USERS)]
    await db.commit()
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        login = await http.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "admin", '
                f'password: "{ADMIN_PASSWORD}"}}) {{ token }} }}'
            },
        )
        headers = {"authorization": f"Bearer {login.json()['data']['login']['token']}"}
        accepted: dict[int, list[tuple[int, str]]] = defaultdict(list)  # user -> [(new version, city)]
        figures = {"requests": 0, "accepted": 0, "conflicts": 0, "errors": 0}
        stop = time.monotonic() + SECONDS

        async def client(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < stop:
                uid = rng.choice(ids)
                gid = f.gid("User", uid)
                read = await http.post(
                    "/graphql", json={"query": READ, "variables": {"id": gid}}, headers=headers
                )
                figures["requests"] += 1
                if read.status_code != 200 or "errors" in read.json():
                    figures["errors"] += 1
                    continue
                version = read.json()["data"]["user"]["version"]
                city = f"c{n}-{figures['requests']}"
                r = await http.post(
                    "/graphql",
                    json={"query": UPDATE, "variables": {"i": {"id": gid, "version": version, "city": city}}},
                    headers=headers,
                )
                figures["requests"] += 1
                body = r.json() if r.status_code == 200 else {}
                payload = (body.get("data") or {}).get("userUpdate")
                if r.status_code != 200 or payload is None:
                    figures["errors"] += 1
                elif payload["userErrors"] == []:
                    figures["accepted"] += 1
                    accepted[uid].append((payload["user"]["version"], city))
                elif [e["code"] for e in payload["userErrors"]] == ["CONFLICT"]:
                    figures["conflicts"] += 1
                else:
                    figures["errors"] += 1

        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    print(
        "\nconcurrency:", json.dumps(figures | {"workers": WORKERS, "clients": CLIENTS, "seconds": SECONDS})
    )
    assert figures["errors"] == 0
    assert figures["accepted"] > 0 and figures["conflicts"] > 0
    await db.commit()
    rows = {u.id: u for u in (await db.execute(select(m.User).where(m.User.id.in_(ids)))).scalars()}
    events = (
        (await db.execute(select(m.AuditEvent).where(m.AuditEvent.action == "user.update"))).scalars().all()
    )
    by_user = defaultdict(list)
    for event in events:
        by_user[event.target_id].append(event.changes["city"]["after"])
    for uid in ids:
        mine = sorted(accepted[uid])
        # each accepted update made exactly one version, none lost and none twice
        assert [v for v, _ in mine] == list(range(2, 2 + len(mine)))
        assert rows[uid].version == 1 + len(mine)
        assert rows[uid].city == (mine[-1][1] if mine else None)
        assert sorted(by_user[uid]) == sorted(c for _, c in mine)


async def test_two_senders_never_send_one_mail_twice(settings, db):
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only (SKIP LOCKED)")
    from tests.test_credentials import Smtp

    smtp = Smtp()
    smtp.start()
    try:
        for i in range(40):
            enqueue(db, f"user{i}@example.com", f"mail {i}", "body")
        await db.commit()
        from ccgraph.db.engine import create_engine, session_factory

        config = settings.with_(smtp_host="127.0.0.1", smtp_port=smtp.port)
        engines = [create_engine(config) for _ in range(2)]
        senders = [MailSender(config, session_factory(e)) for e in engines]
        totals = [0, 0]

        async def drain(i: int) -> None:
            while True:
                sent, _ = await senders[i].deliver_due(batch=3)
                if not sent:
                    return
                totals[i] += sent

        await asyncio.gather(drain(0), drain(1))
        for engine in engines:
            await engine.dispose()
        subjects = [msg["Subject"] for msg in smtp.inbox.messages]
        assert sorted(subjects) == sorted(f"mail {i}" for i in range(40))  # each exactly once
        assert totals[0] > 0 and totals[1] > 0 and sum(totals) == 40
    finally:
        smtp.stop()
