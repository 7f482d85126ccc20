"""Flat user tables at scale, for a scoped caller. A caller whose security profile has
USERS_VIEW but not EXTERNAL_BUSINESS_UNIT_VIEW (so every users query is limited to their
business unit) reads the user table of a unit of 1,000, 10,000 and 100,000 users: the first
page, the last page (`last: 100`), a page in the middle (`after:` the cursor of the middle
row), every `orderBy` field in both directions, a rare-term search and `totalCount`.

Each size is its own database (generated with Core inserts, not the API) served by its own
`ccgraph serve`; the three serve at once and are asked in rounds (each query of each size in
turn), so that a slow spell of the machine touches every size alike. On PostgreSQL the tables
are vacuumed and analysed after the load, the state autovacuum reaches on its own within a
minute or so. Prints p50 per query and size with the 100k/1k ratio (goal: every ratio at most
1.5) and writes `scale` and `scale_worst_ratio_100k_over_1k` into bench/results.json (the other
keys are kept). SQLite by default; CCGRAPH_BENCH_DATABASE_URL for PostgreSQL.

Run: `make bench` or `python bench/scale.py [--sizes 1000,10000,100000] [--rounds 25]`.
`PYTHONPATH=OTHER/src python bench/scale.py --output /tmp/x.json` measures another source
tree (e.g. a `git worktree add` of the commit before a change)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from serving import as_autovacuum_leaves_it, database, free_port, start
from sqlalchemy import func, insert, select

from ccgraph.auth.passwords import Passwords
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.db.migrate import upgrade
from ccgraph.enums import Permission
from ccgraph.services.bootstrap import initialize
from ccgraph.services.users.queries import UserOrderField, user_ordering

HERE = Path(__file__).parent
PAGE = 100
PASSWORD = "scale-viewer-password"
RARE = "yqva"  # in the last name of RARE_USERS users at every size, in nobody else's data
RARE_USERS = 3
FIRST_NAMES = [
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gilda", "Hugo", "Ines", "Jonas", "Kemal", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Ximena", "Zoe",
]  # fmt: skip
SYLLABLES = ["ba", "ko", "ri", "mel", "dan", "sto", "ver", "lin", "gar", "tu", "nes", "po", "wi", "har"]
ROW = (
    "edges { cursor node { id username firstName lastName email enabled } } "
    "pageInfo { hasNextPage endCursor }"
)


def users_query(arguments: str, selection: str = ROW) -> str:
    declared = "($after: String)" if "$after" in arguments else ""
    return f"query{declared} {{ users({arguments}) {{ {selection} }} }}"


def queries() -> dict[str, tuple[str, dict]]:
    """name -> (document, variables); the middle page's `after` is filled in per size."""
    found = {
        "first page": (users_query(f"first: {PAGE}"), {}),
        "last page": (users_query(f"last: {PAGE}"), {}),
        "middle page": (users_query(f"first: {PAGE}, after: $after"), {"after": None}),
    }
    for field in UserOrderField:
        for direction in ("ASC", "DESC"):
            if (field, direction) != (UserOrderField.USERNAME, "ASC"):  # that is the first page
                order = f"orderBy: {{field: {field.name}, direction: {direction}}}"
                found[f"orderBy {field.name} {direction}"] = (users_query(f"first: {PAGE}, {order}"), {})
    found["search (rare term)"] = (users_query(f'first: {PAGE}, filter: {{search: "{RARE}"}}'), {})
    found["totalCount"] = (users_query("first: 0", "totalCount"), {})
    return found


def rows(n: int, unit: int) -> list[dict]:
    """`n` users of `unit`: names drawn so that no order follows the ids, many first names
    shared (the id breaks ties), creation times spread over a year."""
    draw = random.Random(n)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        first = draw.choice(FIRST_NAMES)
        last = "".join(draw.choice(SYLLABLES) for _ in range(3)).title()
        if i % (n // RARE_USERS) == n // (2 * RARE_USERS):
            last = f"Zy{RARE}r"
        created = start + timedelta(seconds=draw.randrange(365 * 86400))
        out.append(
            {
                "business_unit_id": unit,
                "username": f"{first}.{last}.{i}".lower(),
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{i}@example.com".lower(),
                "created_at": created,
                "updated_at": created,
            }
        )
    return out


async def generate(settings: Settings, n: int) -> tuple[str, str]:
    """Migrate, load `n` users and the scoped viewer; their token and the middle page's cursor."""
    engine = create_engine(settings)
    await upgrade(engine)
    passwords = Passwords(settings)
    async with session_factory(engine)() as db:
        await initialize(db, passwords, admin_username="admin", admin_password="scale-admin-password")
        unit = (await db.execute(select(m.BusinessUnit).order_by(m.BusinessUnit.id))).scalars().first()
        viewing = [Permission.USERS_VIEW, Permission.SKILLS_VIEW]
        profile = m.SecurityProfile(
            business_unit_id=unit.id, name="Directory viewer", permissions=[p.value for p in viewing]
        )
        viewer = m.User(
            business_unit_id=unit.id,
            username="viewer",
            first_name="Directory",
            last_name="Viewer",
            email="viewer@example.com",
            password_hash=await passwords.hash(PASSWORD),
            security_profiles=[profile],
        )
        db.add_all([profile, viewer])
        await db.commit()
        generated = rows(n, unit.id)
        for begin in range(0, n, 5000):  # RETURNING: a statement per 1,000 rows, as the app's inserts
            await db.execute(insert(m.User).returning(m.User.id), generated[begin : begin + 5000])
        await db.commit()
        ordering = user_ordering(UserOrderField.USERNAME, False)
        middle = (
            await db.execute(
                select(m.User.username, m.User.id)
                .where(m.User.business_unit_id == unit.id)
                .order_by(*ordering.clauses())
                .offset(n // 2)
                .limit(1)
            )
        ).one()
        cursor = ordering.cursor_for(list(middle))
        assert await db.scalar(select(func.count()).select_from(m.User)) == n + 2
    await as_autovacuum_leaves_it(engine)
    await engine.dispose()
    return await sign_in(settings), cursor


async def sign_in(settings: Settings) -> str:
    from ccgraph.app import create_app

    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
        r = await client.post(
            "/graphql",
            json={
                "query": 'mutation($p: String!) { login(input: {username: "viewer", password: $p}) '
                "{ token } }",
                "variables": {"p": PASSWORD},
            },
        )
    await app.state.engine.dispose()
    return r.json()["data"]["login"]["token"]


async def measure(targets: dict[int, tuple[str, str, str]], rounds: int) -> dict[str, dict[int, float]]:
    """p50 (ms) per query and size; targets: size -> (url, token, middle cursor)."""
    timings: dict[str, dict[int, list[float]]] = {name: {n: [] for n in targets} for name in queries()}
    async with httpx.AsyncClient(timeout=120) as client:
        for round_ in range(rounds + 2):
            for name, (document, variables) in queries().items():
                for n, (url, token, middle) in targets.items():
                    given = {k: middle if k == "after" else v for k, v in variables.items()}
                    body = {"query": document, "variables": given}
                    started = time.perf_counter()
                    r = await client.post(url, json=body, headers={"authorization": f"Bearer {token}"})
                    elapsed = (time.perf_counter() - started) * 1000
                    assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]
                    check(name, n, r.json()["data"]["users"])
                    if round_ >= 2:  # warm-up rounds are not counted
                        timings[name][n].append(elapsed)
    return {
        name: {n: round(statistics.median(t), 2) for n, t in by_size.items()}
        for name, by_size in timings.items()
    }


def check(name: str, n: int, users: dict) -> None:
    """The answers are what the query asks for, at every size."""
    if name == "totalCount":
        assert users["totalCount"] == n + 2, users  # the generated users, the admin and the viewer
    elif name.startswith("search"):
        assert len(users["edges"]) == RARE_USERS, users
    else:
        assert len(users["edges"]) == PAGE, (name, len(users["edges"]))


def report(results: dict[str, dict[int, float]], sizes: list[int], database_name: str, output: Path) -> None:
    small, large = sizes[0], sizes[-1]
    label = {n: f"{n // 1000}k" if n >= 1000 else str(n) for n in sizes}
    ratio_name = f"{label[large]}/{label[small]}"
    width = max(len(name) for name in results) + 2
    print(f"scoped caller, {database_name}, p50 ms")
    print(f"{'':{width}}" + "".join(f"{label[n]:>9}" for n in sizes) + f"{ratio_name:>11}")
    table = {}
    for name, by_size in results.items():
        ratio = round(by_size[large] / by_size[small], 2)
        table[name] = {label[n]: by_size[n] for n in sizes} | {"ratio": ratio}
        print(f"{name:{width}}" + "".join(f"{by_size[n]:>9}" for n in sizes) + f"{ratio:>11}")
    worst = max(table.items(), key=lambda item: item[1]["ratio"])
    print(f"worst {ratio_name}: {worst[1]['ratio']}x ({worst[0]}); goal: at most 1.5x")
    summary = json.loads(output.read_text()) if output.exists() else {}
    summary[f"scale_worst_ratio_{label[large]}_over_{label[small]}"] = worst[1]["ratio"]
    summary["scale"] = {"database": database_name, "page": PAGE, "sizes": sizes, "p50_ms": table}
    output.write_text(json.dumps(summary, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="users per unit, smallest first")
    parser.add_argument(
        "--rounds", type=int, default=25, help="requests per query and size (after 2 warm-ups)"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    server_env = {
        "CCGRAPH_LOG_LEVEL": "warning",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_MAX_QUERY_COST": "10000000",
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        targets, processes = {}, []
        try:
            for n in sizes:
                env = stack.enter_context(database(tmp, f"scale{n}"))
                settings = Settings(
                    database_url=env["CCGRAPH_DATABASE_URL"],
                    database_schema=env.get("CCGRAPH_DATABASE_SCHEMA", ""),
                    argon2_time_cost=1,
                    argon2_memory_kib=8,
                )
                started = time.perf_counter()
                token, middle = asyncio.run(generate(settings, n))
                print(f"{n:,} users generated in {time.perf_counter() - started:.1f} s", flush=True)
                port = free_port()
                log = Path(tmp) / f"scale{n}.log"
                cmd = [sys.executable, "-m", "ccgraph", "serve", "--port", str(port)]
                processes.append(start(cmd, os.environ | env | server_env, port, log))
                targets[n] = (f"http://127.0.0.1:{port}/graphql", token, middle)
            database_name = "postgresql" if os.environ.get("CCGRAPH_BENCH_DATABASE_URL") else "sqlite"
            report(asyncio.run(measure(targets, args.rounds)), sizes, database_name, args.output)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
