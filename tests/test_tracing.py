"""Tracing (README, "Traces"): with an exporter, a request is a server span named after its
GraphQL operation, continuing the caller's `traceparent`, with a child span per SQL statement
that has the statement's text and none of its values; without an endpoint, nothing is traced."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette

from ccgraph.app import create_app
from ccgraph.auth.passwords import Passwords
from ccgraph.config import Settings
from ccgraph.db.engine import session_factory
from ccgraph.services.bootstrap import initialize
from ccgraph.tracing import ENDPOINTS
from tests.conftest import ADMIN_PASSWORD, Api

SIGN_IN = (
    "mutation SignIn($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
    "{ token userErrors { code } } }"
)
SKILLS = "query SkillsPage($s: String) { skills(first: 5, search: $s) { totalCount } }"
SEARCHED = "Zebra-4711"  # a value that must appear in no span
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


@pytest.fixture(autouse=True)
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell running the tests has set, tracing is off unless a test turns it on."""
    for name in (*ENDPOINTS, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def serving(app: Starlette, settings: Settings) -> AsyncIterator[Api]:
    """The app from its start to its lifespan's end (which flushes the spans), with an admin
    signed in: the setup's own statements run outside any request."""
    async with app.router.lifespan_context(app):
        async with session_factory(app.state.engine)() as db:
            await initialize(db, Passwords(settings), admin_username="admin", admin_password=ADMIN_PASSWORD)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            api = Api(client)
            data = await api.data(SIGN_IN, {"u": "admin", "p": ADMIN_PASSWORD})
            api.token = data["login"]["token"]
            yield api


def values(spans: Any) -> str:
    """Every name and attribute value of the spans, as one text."""
    return " ".join(f"{span.name} {dict(span.attributes or {})}" for span in spans)


def server_span(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    [span] = [s for s in spans if s.kind is SpanKind.SERVER and s.name == name]
    return span


async def test_a_request_is_a_span_named_after_its_operation_with_its_statements_as_children(
    settings: Settings,
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    async with serving(app, settings) as api:
        data = await api.data(SKILLS, {"s": SEARCHED})
        assert data["skills"]["totalCount"] == 0
        assert exporter.get_finished_spans() == ()  # batched: exported later
    spans = exporter.get_finished_spans()  # the lifespan's end flushed them

    sign_in = server_span(spans, "mutation SignIn")
    page = server_span(spans, "query SkillsPage")
    assert page.attributes is not None
    assert page.attributes["graphql.operation.type"] == "query"
    assert page.attributes["graphql.operation.name"] == "SkillsPage"
    assert page.attributes["http.method"] == "POST" and page.attributes["http.status_code"] == 200
    assert page.context is not None and sign_in.context is not None
    assert page.context.trace_id != sign_in.context.trace_id  # a trace per request

    statements = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert statements and all(s.parent is not None for s in statements)  # the setup's made no trace
    own = [s for s in statements if s.context is not None and s.context.trace_id == page.context.trace_id]
    assert own and all(s.parent is not None and s.parent.span_id == page.context.span_id for s in own)
    sqlite = settings.database_url.startswith("sqlite")
    assert all((s.attributes or {}).get("db.system") == ("sqlite" if sqlite else "postgresql") for s in own)
    searched = [str((s.attributes or {}).get("db.statement")) for s in own]
    placeholder = "?" if sqlite else "$"  # the driver's own: qmark on SQLite, $1 on asyncpg
    assert any("LIKE" in t.upper() and "skill" in t and placeholder in t for t in searched), searched
    assert SEARCHED not in values(spans) and ADMIN_PASSWORD not in values(spans)
    # No tracer provider is installed for the process: the spans are the app's alone.
    assert not hasattr(trace.get_tracer_provider(), "add_span_processor")


class CurrentSpans(logging.Handler):
    """The span that is current when the access log writes its line (what the log's trace_id is)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[trace.SpanContext] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(trace.get_current_span().get_span_context())


@pytest.fixture
def access_spans() -> Iterator[CurrentSpans]:
    logger, handler = logging.getLogger("ccgraph.access"), CurrentSpans()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_an_incoming_traceparent_is_continued_and_is_current_while_the_request_logs(
    settings: Settings, access_spans: CurrentSpans
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    async with serving(app, settings) as api:
        access_spans.seen.clear()
        response = await api.client.post(
            "/graphql",
            json={"query": SKILLS},
            headers={"authorization": f"Bearer {api.token}", "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        )
        assert response.status_code == 200
    page = server_span(exporter.get_finished_spans(), "query SkillsPage")
    assert page.context is not None and page.parent is not None
    assert page.context.trace_id == int(TRACE_ID, 16)
    assert page.parent.span_id == int(PARENT_ID, 16) and page.parent.is_remote
    [logged] = access_spans.seen
    assert (logged.trace_id, logged.span_id) == (page.context.trace_id, page.context.span_id)


async def test_a_get_records_its_path_without_the_document_or_variables(settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    async with serving(app, settings) as api:
        response = await api.client.get(
            "/graphql",
            params={"query": SKILLS, "variables": f'{{"s": "{SEARCHED}"}}'},
            headers={"authorization": f"Bearer {api.token}"},
        )
        assert response.status_code == 200 and "errors" not in response.json()
        assert (await api.client.get("/healthz")).status_code == 200
    spans = exporter.get_finished_spans()
    page = server_span(spans, "query SkillsPage")
    assert (page.attributes or {})["http.url"] == "http://test/graphql"
    assert SEARCHED not in values(spans)
    assert not [s for s in spans if "healthz" in values([s])]  # probes are not traced


async def test_tracing_is_off_without_an_endpoint(settings: Settings) -> None:
    app = create_app(settings)
    assert [m for m in app.user_middleware if "opentelemetry" in m.cls.__module__] == []
    async with serving(app, settings) as api:
        assert (await api.data(SKILLS))["skills"]["totalCount"] == 0
    assert not hasattr(trace.get_tracer_provider(), "add_span_processor")


def test_off_the_sdk_is_not_even_imported(settings: Settings) -> None:
    script = (
        "import sys; from ccgraph.app import create_app; from ccgraph.config import Settings; "
        f"create_app(Settings(database_url={settings.database_url!r})); "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.instr'))))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's traces endpoint: keeps each export it is sent."""

    exports: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/v1/traces":
            self.exports.append(ExportTraceServiceRequest.FromString(body))
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    exports: list[ExportTraceServiceRequest] = []
    handler = type("Handler", (Receiver,), {"exports": exports})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", exports
    finally:
        server.shutdown()
        server.server_close()


async def test_the_endpoint_variable_exports_the_trace_over_otlp_http(
    settings: Settings,
    collector: tuple[str, list[ExportTraceServiceRequest]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, exports = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    app = create_app(settings)
    async with serving(app, settings) as api:
        await api.data(SKILLS, {"s": SEARCHED})
    spans = [
        (resource.resource, span)
        for export in exports
        for resource in export.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    names = {span.name for _, span in spans}
    assert {"mutation SignIn", "query SkillsPage"} <= names
    [page] = [span for _, span in spans if span.name == "query SkillsPage"]
    children = [span for _, span in spans if span.parent_span_id == page.span_id]
    assert children and all(span.trace_id == page.trace_id for span in children)
    assert {
        attribute.value.string_value
        for resource, _ in spans
        for attribute in resource.attributes
        if attribute.key == "service.name"
    } == {"ccgraph"}
