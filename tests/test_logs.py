"""Logs: every process and worker of `ccgraph serve` writes one JSON line per event on stderr
(uvicorn's own lines and tracebacks included), each line of a request carries its request id,
and `CCGRAPH_LOG_FORMAT=text` gives a readable line instead."""

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ccgraph.logs import formatter

BIG = "x" * 2000  # over the served CCGRAPH_MAX_BODY_BYTES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in lines(path)]


@contextmanager
def serve(tmp_path: Path, template: Path, workers: int, **env: str) -> Iterator[tuple[str, Path]]:
    """`ccgraph serve` as a process on a migrated SQLite copy: its URL, and the file its stderr
    goes to (complete once the block has ended and the server has stopped)."""
    database = tmp_path / "served.db"
    shutil.copy(template, database)
    stderr = tmp_path / "stderr.log"
    port = free_port()
    environ = os.environ | {
        "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_MAX_BODY_BYTES": "1000",
        "CCGRAPH_LOG_LEVEL": "info",
        **env,
    }
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ccgraph", "serve", "--workers", str(workers), "--port", str(port)],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            deadline = time.monotonic() + 30
            while stderr.read_text().count("Application startup complete") < workers:
                assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()[-2000:]
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", stderr
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def access_lines(path: Path) -> list[dict]:
    return [r for r in records(path) if r["logger"] == "ccgraph.access"]


def test_two_workers_write_one_json_access_line_per_request_each(tmp_path, sqlite_template):
    sent: dict[str, int] = {}  # request id -> status

    def send(method: str, path: str, **kwargs) -> httpx.Response:
        # A connection per request, so that either worker may take it.
        response = httpx.request(method, f"{base}{path}", timeout=10, **kwargs)
        assert response.headers["x-request-id"] not in sent
        sent[response.headers["x-request-id"]] = response.status_code
        return response

    with serve(tmp_path, sqlite_template, workers=2) as (base, stderr):
        healthz = send("GET", "/healthz")
        missing = send("GET", "/no-such-page")
        too_large = send(
            "POST",
            "/graphql",
            content=json.dumps({"query": BIG}),
            headers={"content-type": "application/json"},
        )
        named = send(
            "POST",
            "/graphql",
            json={"query": "query Ping { __typename }"},
            headers={"x-request-id": "client-chosen-1"},
        )
        deadline = time.monotonic() + 20
        while len({r["pid"] for r in access_lines(stderr)}) < 2:
            assert time.monotonic() < deadline, "one worker answered everything"
            for _ in range(10):
                send("GET", "/healthz")
            time.sleep(0.2)
    assert (healthz.status_code, missing.status_code, too_large.status_code) == (200, 404, 413)
    assert too_large.json()["errors"][0]["extensions"]["requestId"] == too_large.headers["x-request-id"]
    assert named.headers["x-request-id"] == "client-chosen-1"

    everything = records(stderr)  # every line is one JSON object: a non-JSON line fails here
    for line in everything:
        assert {"timestamp", "level", "logger", "message", "pid"} <= line.keys(), line
        assert datetime.fromisoformat(line["timestamp"]).utcoffset() == UTC.utcoffset(None)
    uvicorn_lines = [r for r in everything if r["logger"].startswith("uvicorn")]
    assert any(r["message"].startswith("Started parent process") for r in uvicorn_lines)
    assert len({r["pid"] for r in uvicorn_lines if r["message"].startswith("Started server process")}) == 2

    access = access_lines(stderr)
    assert sorted(r["requestId"] for r in access) == sorted(sent)  # exactly one line per request
    by_id = {r["requestId"]: r for r in access}
    for request_id, status in sent.items():
        assert by_id[request_id]["status"] == status and by_id[request_id]["level"] == "info"
    assert {r["path"] for r in access} == {"/healthz", "/no-such-page", "/graphql"}
    assert by_id["client-chosen-1"]["operation"] == "Ping"
    assert by_id[too_large.headers["x-request-id"]]["method"] == "POST"
    assert len({r["pid"] for r in access}) == 2


def test_text_format_is_one_readable_line_per_event(tmp_path, sqlite_template):
    with serve(tmp_path, sqlite_template, workers=1, CCGRAPH_LOG_FORMAT="text") as (base, stderr):
        request_id = httpx.get(f"{base}/healthz", timeout=10).headers["x-request-id"]
    written = lines(stderr)
    for line in written:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    [access] = [line for line in written if request_id in line]
    assert "GET /healthz 200" in access and "[ccgraph.access]" in access and "status=200" in access
    assert any("Application startup complete" in line for line in written)


@contextmanager
def captured(log_format: str = "json") -> Iterator[io.StringIO]:
    """What the root logger's handler writes, with the served format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_an_unexpected_error_is_one_json_line_with_its_traceback_and_request_id(admin_api, monkeypatch):
    from ccgraph.schema.users import types as user_schema

    def broken(values):  # a bug deep inside a resolver
        raise RuntimeError("a bug")

    monkeypatch.setattr(user_schema, "channel_values", broken)
    with captured() as stream:
        response = await admin_api.client.post(
            "/graphql",
            json={"query": "query Broken { viewer { channelSettings { dialingPattern } } }"},
            headers={"authorization": f"Bearer {admin_api.token}", "x-request-id": "bug-1"},
        )
    assert response.json()["errors"][0]["extensions"]["requestId"] == "bug-1"
    written = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [r for r in written if r.get("requestId") == "bug-1"]
    [error] = [r for r in mine if r["level"] == "error"]
    assert error["logger"] == "ccgraph.errors"
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: a bug" in error["exception"]
    [access] = [r for r in mine if r["logger"] == "ccgraph.access"]
    assert (access["operation"], access["user"], access["status"]) == ("Broken", "admin", 200)


def test_a_line_logged_in_an_active_span_carries_its_trace_and_span_ids():
    trace = pytest.importorskip("opentelemetry.trace")
    context = trace.SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=False
    )
    with captured() as stream:
        with trace.use_span(trace.NonRecordingSpan(context)):
            logging.getLogger("ccgraph.test").info("inside")
        logging.getLogger("ccgraph.test").info("outside")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inside["span_id"] == "00f067aa0ba902b7"
    assert "trace_id" not in outside and "span_id" not in outside


async def test_the_access_line_carries_the_trace_of_an_incoming_traceparent(settings):
    memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    from ccgraph.app import create_app

    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    exporter = memory.InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        with captured() as stream:
            await client.post(
                "/graphql",
                json={"query": "query Ping { __typename }"},
                headers={"traceparent": f"00-{trace_id}-{parent}-01"},
            )
    [access] = [r for r in map(json.loads, stream.getvalue().splitlines()) if r["logger"] == "ccgraph.access"]
    assert access["trace_id"] == trace_id and access["operation"] == "Ping"
    [span] = [
        s
        for s in exporter.get_finished_spans()
        if s.parent is not None and s.parent.span_id == int(parent, 16)
    ]
    assert access["span_id"] == format(span.context.span_id, "016x")
