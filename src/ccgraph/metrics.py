"""Prometheus metrics (README, "Metrics"): what the server counts, and the endpoint that serves
the counts of every worker summed.

A leaf: it imports nothing of ccgraph, so that any layer may count through it. The counters of
rare events (sign-in failures, imported rows) always count, in memory, at no measurable cost;
what sits on the request path (the middleware, the SQL statement count, the pool gauges) is put
there by `instrument` only when metrics are on (`CCGRAPH_METRICS_PORT`).

Across workers, prometheus_client's multiprocess mode: each process writes its values to files
in `PROMETHEUS_MULTIPROC_DIR` (chosen when prometheus_client is first imported, so the folder
is in the environment before any process starts), and the process serving `/metrics` reads and
sums them all."""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ccgraph.metrics")

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
EXECUTION = "graphql_execution"  # the request state's key for its GraphQL execution
# This process's metrics, for a reader in the same process (a test); `serve` reads the files.
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "ccgraph_requests",
    "GraphQL requests answered, by operation name and outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "ccgraph_request_duration_seconds",
    "Time from a GraphQL request's arrival to the end of its answer.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
REQUEST_STATEMENTS = Histogram(
    "ccgraph_request_sql_statements",
    "SQL statements a GraphQL request ran.",
    ["operation"],
    buckets=(0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000),
    registry=REGISTRY,
)
# Gauges of the processes alive now, summed ("livesum"): a worker that exits takes its share.
POOL_CHECKED_OUT = Gauge(
    "ccgraph_db_pool_checked_out",
    "Database connections in use (checked out of the pools).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
POOL_SIZE = Gauge(
    "ccgraph_db_pool_size",
    "Connections the pools keep open (each may open as many again in overflow on PostgreSQL).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
SIGN_IN_FAILURES = Counter(
    "ccgraph_sign_in_failures",
    "Failed sign-ins (and wrong current passwords), each counting toward the lockout, by reason.",
    ["reason"],
    registry=REGISTRY,
)
SIGN_IN_LOCKOUTS = Counter(
    "ccgraph_sign_in_lockouts",
    "Sign-ins (and current-password checks) refused because the username is locked out.",
    registry=REGISTRY,
)
IMPORT_ROWS = Counter(
    "ccgraph_import_rows",
    "Rows of user files imported (usersImport, ccgraph import), by outcome; dry runs count nothing.",
    ["outcome"],
    registry=REGISTRY,
)

# --- operation names: a bounded label ------------------------------------------------------

NO_OPERATION = "none"  # no operation ran: the request was refused as a whole, or replayed
ANONYMOUS = "anonymous"  # an operation without a name, or a document that does not parse
OTHER = "other"  # a name past the cap, or not a GraphQL name
MAX_OPERATION_NAMES = 200  # distinct names a process labels; clients choose them
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_named: set[str] = set()


def operation_label(state: Mapping[str, Any]) -> str:
    """The operation label of a request that ran one, from what `RequestLifecycle` left in its
    state."""
    if "operation" not in state:
        return NO_OPERATION
    name = state["operation"]
    if name is None:
        return ANONYMOUS
    if name in _named:
        return str(name)
    if not isinstance(name, str) or len(_named) >= MAX_OPERATION_NAMES or not _NAME.fullmatch(name):
        return OTHER
    _named.add(name)
    return name


# --- outcomes ------------------------------------------------------------------------------

SERVER_FAULTS = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "DATABASE_BUSY"})
DENIALS = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})
REPLAYED = b"idempotent-replayed"


def outcome(status: int, result: Any, replayed: bool = False) -> str:
    """One word for how a request ended (README, "Metrics"): `error` (a fault of ours: a 5xx or
    an error coded as one), `refused` (a 4xx answered before any operation ran: malformed,
    too large, an Idempotency-Key in use), `replayed` (a stored answer sent again), `denied`
    (UNAUTHENTICATED, FORBIDDEN), `user_error` (any other coded error: parsing, validation,
    limits, arguments; or a payload's `userErrors`), else `ok`. `result` is the operation's
    ExecutionResult, its errors as the client reads them."""
    if status >= 500:
        return "error"
    if result is None:
        return "replayed" if replayed else "refused" if status >= 400 else "ok"
    codes = {(error.extensions or {}).get("code") for error in result.errors or ()}
    if None in codes or codes & SERVER_FAULTS:
        return "error"
    if codes & DENIALS:
        return "denied"
    if codes or _user_errors(result.data):
        return "user_error"
    return "ok"


def _user_errors(data: Any) -> bool:
    """A mutation's payload (a root field) answered `userErrors`."""
    return isinstance(data, dict) and any(
        isinstance(payload, dict) and payload.get("userErrors") for payload in data.values()
    )


# --- the request path (only when metrics are on) ---------------------------------------------


class _Statements:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


# The statement tally of the request running in this context (SQLAlchemy runs the cursor in a
# greenlet that shares the context of the coroutine awaiting it).
_statements: ContextVar[_Statements | None] = ContextVar("ccgraph_statements", default=None)


def _count_statement(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
    """Not a transaction's BEGIN (SQLite's is a statement, PostgreSQL's driver sends it unseen):
    a figure that is the same on both backends."""
    tally = _statements.get()
    if tally is not None and not statement.startswith("BEGIN"):
        tally.count += 1


def instrument(engine: AsyncEngine) -> None:
    """Count each SQL statement for the request that runs it, and the pool's connections."""
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", _count_statement)
    if isinstance(sync.pool, QueuePool):
        POOL_SIZE.set(sync.pool.size())
    # On the engine, not the pool: `dispose()` replaces the pool and keeps these.
    event.listen(sync, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(sync, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


class RequestMetrics:
    """Counts each GraphQL request: its operation and outcome, its duration, its SQL statements.
    Outermost, so that it sees every answer, also those of the layers that refuse a request
    before it runs (a body too large) and of a fault they answer (500)."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        answer = {"status": 500, "replayed": False}

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["replayed"] = any(key == REPLAYED for key, _ in message.get("headers") or ())
            await send(message)

        tally = _Statements()
        token = _statements.set(tally)
        state[EXECUTION] = None  # RequestLifecycle leaves the operation's execution here
        try:
            await self.app(scope, receive, counted_send)
        finally:
            _statements.reset(token)
            execution = state.pop(EXECUTION)  # it refers to the request: no cycle is left
            result = None if execution is None else execution.result
            name = NO_OPERATION if result is None else operation_label(state)
            ended = outcome(int(answer["status"]), result, bool(answer["replayed"]))
            REQUESTS.labels(name, ended).inc()
            REQUEST_DURATION.labels(name).observe(time.perf_counter() - started)
            REQUEST_STATEMENTS.labels(name).observe(tally.count)


# --- what the services count (always) --------------------------------------------------------


def sign_in_failed(reason: str) -> None:
    SIGN_IN_FAILURES.labels(reason).inc()


def sign_in_locked_out() -> None:
    SIGN_IN_LOCKOUTS.inc()


def rows_imported(outcomes: Iterable[str]) -> None:
    """Each row's outcome: created, updated, unchanged, failed or skipped (a good row an atomic
    import did not write because another failed)."""
    counts: dict[str, int] = {}
    for row in outcomes:
        counts[row] = counts.get(row, 0) + 1
    for row, count in counts.items():
        IMPORT_ROWS.labels(row).inc(count)


# --- processes and the endpoint ------------------------------------------------------------


def process_exited() -> None:
    """This process's gauges leave the sums (a worker's lifespan ends)."""
    if os.environ.get(MULTIPROC_DIR):
        mark_process_dead(os.getpid())


class Processes(MultiProcessCollector):
    """Every process's metrics summed. A process gone without saying (a killed worker) leaves
    the gauges of the living when the next scrape finds it gone."""

    def __init__(self, registry: CollectorRegistry, path: str) -> None:
        super().__init__(registry, path)
        self.path = path

    def collect(self) -> Iterable[Metric]:
        for file in glob.glob(os.path.join(self.path, "gauge_live*_*.db")):
            pid = int(os.path.basename(file).rsplit("_", 1)[1].removesuffix(".db"))
            if not _alive(pid):
                mark_process_dead(pid, self.path)
        return super().collect()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Backlog = tuple[int, int, float]  # mails waiting, mails given up, the oldest waiting's age (s)


class MailOutbox:
    """The outbox, read when scraped (its own connection, whatever the workers do)."""

    def __init__(self, read: Callable[[], Backlog]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        try:
            waiting, given_up, oldest = self.read()
        except Exception as exc:  # the scrape goes on without these; the log says why
            log.warning("mail outbox not read for metrics: %s", exc.__class__.__name__)
            return []
        messages = GaugeMetricFamily(
            "ccgraph_mail_outbox_messages",
            "Mail not sent: waiting (to be tried) or given up (CCGRAPH_MAIL_MAX_ATTEMPTS failed).",
            labels=["state"],
        )
        messages.add_metric(["waiting"], waiting)
        messages.add_metric(["given_up"], given_up)
        age = GaugeMetricFamily(
            "ccgraph_mail_outbox_oldest_age_seconds",
            "Age of the oldest mail waiting to be sent; 0 when none waits.",
            value=oldest,
        )
        return [messages, age]


def serve(host: str, port: int, outbox: Callable[[], Backlog]) -> None:
    """Serve `/metrics` on `host:port` from a thread of this process: the files of every
    process in `PROMETHEUS_MULTIPROC_DIR` summed, and the mail outbox."""
    if not getattr(values.ValueClass, "_multiprocess", False):  # this process's counts unseen
        raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_DIR} was set")
    registry = CollectorRegistry()
    Processes(registry, os.environ[MULTIPROC_DIR])
    registry.register(MailOutbox(outbox))
    start_http_server(port, host, registry)
