"""Prometheus metrics (README, "Metrics"): off unless CCGRAPH_METRICS_PORT is set; then served
on their own address by `ccgraph serve`, one scrape summing every worker; and what each
request, sign-in and import counts, read in process."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccgraph import metrics
from ccgraph.app import create_app
from ccgraph.auth.passwords import Passwords
from ccgraph.config import Settings
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.services.bootstrap import initialize
from ccgraph.services.mail import enqueue
from ccgraph.services.sample_import import load_catalog, write_file
from tests.conftest import ADMIN_PASSWORD, Api, StatementCounter, cheap_settings
from tests.test_bulk import HEADER, csv_bytes, rows, setup, upload
from tests.test_logs import free_port, records, serve

PROBE = "query Probe { __typename }"
SIGN_IN = (
    'mutation SignIn { login(input: {username: "admin", password: "wrong"}) { token userErrors { code } } }'
)


# --- served: `ccgraph serve` as an operator runs it ------------------------------------------


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated SQLite file with the master administrator, the sample import's catalog and
    one mail waiting in the outbox (`serve` serves a copy of it)."""
    path = tmp_path / "arranged.db"
    shutil.copy(sqlite_template, path)
    settings = cheap_settings(f"sqlite+aiosqlite:///{path}")

    async def arrange() -> None:
        engine = create_engine(settings)
        async with session_factory(engine)() as db:
            await initialize(db, Passwords(settings), admin_username="admin", admin_password=ADMIN_PASSWORD)
            await load_catalog(db)
            enqueue(db, "someone@example.com", "Waiting", "A mail no SMTP host sends.")
            await db.commit()
        await engine.dispose()

    asyncio.run(arrange())
    return path


CHEAP = {"CCGRAPH_ARGON2_TIME_COST": "1", "CCGRAPH_ARGON2_MEMORY_KIB": "8"}


def post(base: str, query: str) -> httpx.Response:
    """On a connection of its own, so that the workers take turns at answering."""
    return httpx.post(f"{base}/graphql", json={"query": query}, headers={"connection": "close"}, timeout=10)


def scrape(metrics_port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def listening_ports(pid: int) -> set[int]:
    """The TCP ports the process listens on (Linux: its socket inodes in /proc/net/tcp*)."""
    sockets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_two_workers_one_scrape_counts_every_request_sign_in_and_import(database, tmp_path):
    metrics_port = free_port()
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")
    env = CHEAP | {"CCGRAPH_METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with serve(tmp_path, database, 2, **env) as (base, _stderr):
        assert not (folder / "counter_1.db").exists()  # an earlier run's files are not summed
        answered: set[str] = set()  # the workers that counted a request: their histogram files
        sent = 0
        while len(answered) < 2 and sent < 200:
            assert post(base, PROBE).json() == {"data": {"__typename": "Query"}}
            sent += 1
            answered = {p.name.split("_")[-1] for p in folder.glob("histogram_*.db")}
        assert len(answered) == 2, "one worker answered every request"
        assert post(base, SIGN_IN).json()["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
        write_file(tmp_path / "users.csv", 3)
        imported = subprocess.run(  # its own process, counting into the same folder
            [sys.executable, "-m", "ccgraph", "import", str(tmp_path / "users.csv")],
            env=os.environ | env | {"CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "created 3" in imported.stdout, imported.stderr

        samples = scrape(metrics_port)
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the API's address
        # In use now: a worker's webhook pass (every 2 s) may hold a connection at the moment of a
        # scrape, so it is read until none is; one a request kept would stay out for good.
        checked_out = value(samples, "ccgraph_db_pool_checked_out")
        deadline = time.monotonic() + 30
        while checked_out and time.monotonic() < deadline:
            time.sleep(0.05)
            checked_out = value(scrape(metrics_port), "ccgraph_db_pool_checked_out")

    assert value(samples, "ccgraph_requests_total", operation="Probe", outcome="ok") == sent
    assert value(samples, "ccgraph_request_duration_seconds_count", operation="Probe") == sent
    assert value(samples, "ccgraph_request_sql_statements_count", operation="Probe") == sent
    assert value(samples, "ccgraph_requests_total", operation="SignIn", outcome="user_error") == 1
    assert value(samples, "ccgraph_request_sql_statements_sum", operation="SignIn") >= 2
    assert value(samples, "ccgraph_sign_in_failures_total", reason="INVALID_CREDENTIALS") == 1
    assert value(samples, "ccgraph_import_rows_total", outcome="created") == 3
    assert value(samples, "ccgraph_mail_outbox_messages", state="waiting") == 1
    assert value(samples, "ccgraph_mail_outbox_messages", state="given_up") == 0
    assert value(samples, "ccgraph_mail_outbox_oldest_age_seconds") > 0
    pool = create_engine(cheap_settings(f"sqlite+aiosqlite:///{database}")).pool.size()
    assert value(samples, "ccgraph_db_pool_size") == 2 * pool  # two live workers' pools
    assert checked_out == 0


def served_pid(stderr: Path) -> int:
    """The one process of a single-worker server (every line it logs carries its pid)."""
    (pid,) = {record["pid"] for record in records(stderr)}
    return int(pid)


def test_one_worker_serves_its_metrics_on_the_address_set(database, tmp_path):
    metrics_port = free_port()
    folders = set(Path(tempfile.gettempdir()).glob("ccgraph-metrics-*"))
    with serve(tmp_path, database, 1, **CHEAP, CCGRAPH_METRICS_PORT=str(metrics_port)) as (base, stderr):
        assert len(set(Path(tempfile.gettempdir()).glob("ccgraph-metrics-*")) - folders) == 1
        for _ in range(3):
            post(base, PROBE)
        assert post(base, "query Probe { nope }").status_code == 200
        samples = scrape(metrics_port)
        assert listening_ports(served_pid(stderr)) == {int(base.rsplit(":", 1)[1]), metrics_port}
    assert value(samples, "ccgraph_requests_total", operation="Probe", outcome="ok") == 3
    assert value(samples, "ccgraph_requests_total", operation="Probe", outcome="user_error") == 1
    assert set(Path(tempfile.gettempdir()).glob("ccgraph-metrics-*")) <= folders  # removed at exit


def test_metrics_are_off_by_default(database, tmp_path):
    assert Settings.from_env({}).metrics_port == 0
    with serve(tmp_path, database, 1, **CHEAP) as (base, stderr):
        post(base, PROBE)
        assert listening_ports(served_pid(stderr)) == {int(base.rsplit(":", 1)[1])}  # nothing else
        assert httpx.get(f"{base}/metrics").status_code == 404


# --- in process: what each request and service counts -----------------------------------------


@pytest.fixture
async def metered(settings: Settings) -> Any:
    """The app with metrics on (the port is only read by `ccgraph serve`)."""
    application = create_app(settings.with_(metrics_port=9, lockout_threshold=2))
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        yield application, Api(client)


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much each sample grew while the block ran."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples

    def __enter__(self) -> Delta:
        self.before = [sample(name, **labels) for name, labels in self.samples]
        return self

    def __exit__(self, *_: Any) -> None:
        self.grew = [
            sample(name, **labels) - b for (name, labels), b in zip(self.samples, self.before, strict=True)
        ]


def requests(operation: str, outcome: str) -> tuple[str, dict[str, str]]:
    return "ccgraph_requests_total", {"operation": operation, "outcome": outcome}


async def test_each_request_is_counted_under_its_operation_and_outcome(metered, admin, monkeypatch):
    app, api = metered
    client = api.client
    with Delta(
        requests("Probe", "ok"),
        requests("anonymous", "ok"),
        requests("Users", "denied"),
        requests("anonymous", "user_error"),
        requests("none", "refused"),
    ) as delta:
        await client.post("/graphql", json={"query": PROBE})
        await client.post("/graphql", json={"query": "{ __typename }"})
        await client.post("/graphql", json={"query": "query Users { users(first: 1) { totalCount } }"})
        await client.post("/graphql", json={"query": "{ __typename"})  # a syntax error
        too_large = await client.post("/graphql", content=b"x" * (app.state.settings.max_body_bytes + 1))
        assert too_large.status_code == 413
        await client.post("/graphql", json={"query": PROBE, "operationName": "Unknown"})  # 400
    assert delta.grew == [1, 1, 1, 1, 2]

    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 0)  # the cap reached: a new name is "other"
    with Delta(requests("NeverSeenBefore", "ok"), requests("other", "ok"), requests("Probe", "ok")) as delta:
        await client.post("/graphql", json={"query": "query NeverSeenBefore { __typename }"})
        await client.post("/graphql", json={"query": PROBE})  # a name seen before keeps its label
    assert delta.grew == [0, 1, 1]
    await client.get("/healthz")  # not a GraphQL request: not counted


async def test_sql_statements_are_counted_for_the_request_that_ran_them(metered, admin):
    app, api = metered
    api.token = await api.login("admin", ADMIN_PASSWORD)
    sql_counter = StatementCounter(app.state.engine)
    statements = ("ccgraph_request_sql_statements_sum", {"operation": "Users"})
    observed = ("ccgraph_request_sql_statements_count", {"operation": "Users"})
    with Delta(statements, observed) as delta, sql_counter:
        await api.data("query Users { users(first: 5) { nodes { username team { name } } } }")
    assert delta.grew == [len(sql_counter.statements), 1] and len(sql_counter.statements) > 0


async def test_a_mutation_that_answers_user_errors_counts_as_user_error(metered, admin):
    _app, api = metered
    with Delta(
        requests("SignIn", "user_error"),
        ("ccgraph_sign_in_failures_total", {"reason": "INVALID_CREDENTIALS"}),
    ) as delta:
        await api.post(SIGN_IN)
    assert delta.grew == [1, 1]


async def test_sign_in_failures_and_lockouts_are_counted(metered, admin):
    _app, api = metered
    failures = ("ccgraph_sign_in_failures_total", {"reason": "INVALID_CREDENTIALS"})
    with Delta(failures, ("ccgraph_sign_in_lockouts_total", {})) as delta:
        for _ in range(3):  # the threshold is 2: the third is refused, locked out
            await api.post(SIGN_IN)
    assert delta.grew == [2, 1]


async def test_imported_rows_are_counted_by_outcome_and_a_dry_run_counts_none(admin_api, db):
    await setup(db)
    outcomes = [("ccgraph_import_rows_total", {"outcome": o}) for o in ("created", "failed", "skipped")]
    bad = rows(3)
    bad[1][9] = "lots"  # capacity
    with Delta(*outcomes) as delta:
        await upload(admin_api, csv_bytes([HEADER, *bad]))  # atomic: the good rows are skipped
    assert delta.grew == [0, 1, 2]
    with Delta(*outcomes) as delta:
        await upload(admin_api, csv_bytes([HEADER, *rows(2)]), validateOnly=True)
        await upload(admin_api, csv_bytes([HEADER, *rows(2)]))
    assert delta.grew == [2, 0, 0]


@pytest.mark.parametrize("metrics_port", [0, 9])
async def test_a_request_answered_keeps_nothing_that_refers_back_to_it(settings, metrics_port):
    """The execution refers to the request (its context does): left in the request's state, it
    would make a cycle that only the garbage collector frees, a whole page at a time (the hot
    path's throughput fell by a sixth)."""
    app = create_app(settings.with_(metrics_port=metrics_port))
    scopes: list[dict] = []

    async def capturing(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=capturing)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        assert (await client.post("/graphql", json={"query": PROBE})).status_code == 200
    assert scopes[-1]["state"].get("operation") == "Probe"
    assert metrics.EXECUTION not in scopes[-1]["state"]
