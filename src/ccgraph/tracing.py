"""OpenTelemetry tracing (README, "Traces"), off unless an OTLP endpoint is configured
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).

On, each HTTP request is a server span (OpenTelemetry's ASGI instrumentation) that continues
the caller's trace from a W3C `traceparent` header and is named after its GraphQL operation
(`query UsersPage`, `mutation userUpdate`); each SQL statement the request runs is a child
span (OpenTelemetry's SQLAlchemy instrumentation) with the statement's text and never its
parameters. Spans leave in batches over OTLP/HTTP (protobuf); the SDK reads the other
standard variables itself (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_BSP_*...). No global tracer provider is installed: the spans are ours alone.

Off, nothing of this runs on the request path, and the SDK is not even imported."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from strawberry import Schema
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette
    from strawberry.schema.base import BaseSchema

# Either turns tracing on (the SDK's exporter reads them, and OTEL_EXPORTER_OTLP_ENDPOINT gets
# `/v1/traces` appended).
ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
DEFAULT_SERVICE_NAME = "ccgraph"
# Probes that call every few seconds would drown the requests' traces. The instrumentation's
# own variables (OTEL_PYTHON_ASGI_EXCLUDED_URLS, OTEL_PYTHON_EXCLUDED_URLS) replace this list.
PROBES = "/healthz,/readyz"
EXCLUDED = ("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip() for name in ENDPOINTS)


class Tracing:
    """The tracer provider of one app, from its start to its lifespan's end."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider

    def instrument(self, app: Starlette, schema: BaseSchema) -> None:
        """The request's span around everything the app does (the access log's line included,
        so that it carries the trace id), renamed after the operation once it is parsed."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.metrics import NoOpMeterProvider

        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=self.provider,
            meter_provider=NoOpMeterProvider(),  # metrics are Prometheus's (README, "Metrics")
            excluded_urls=os.environ.get(EXCLUDED[0], os.environ.get(EXCLUDED[1], PROBES)),
            exclude_spans=["receive", "send"],  # a span per ASGI message is noise
            server_request_hook=without_query,
        )
        assert isinstance(schema, Schema)  # build_schema's, which takes extensions
        schema.extensions = (*schema.extensions, OperationSpan)

    async def shutdown(self) -> None:
        """Export the spans still buffered, and stop."""
        await asyncio.to_thread(self.provider.shutdown)


def start_tracing(engine: AsyncEngine, exporter: SpanExporter | None = None) -> Tracing | None:
    """Tracing for an app on `engine`, or None when it is off. `exporter` replaces the OTLP
    exporter (tests pass the SDK's in-memory one) and turns tracing on by itself."""
    if exporter is None and not enabled():
        return None
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__
    from opentelemetry.metrics import NoOpUpDownCounter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    # The instrumentor's `instrument(engine=...)` would also patch `create_engine` and
    # `Engine.connect` process-wide, once per process; its EngineTracer listens on this engine only.
    sql = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
    EngineTracer(RequestChildren(sql), engine.sync_engine, NoOpUpDownCounter("db.client.connections.usage"))
    return Tracing(provider)


def _resource() -> Resource:
    """What the SDK reads from OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, named "ccgraph"
    when neither names the service."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


class RequestChildren:
    """A tracer whose spans only continue a trace: a statement run outside any request (the
    mail outbox's polling) starts no trace of its own."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        if not trace.get_current_span().is_recording():
            return trace.INVALID_SPAN
        return self.tracer.start_span(name, *args, **kwargs)


def without_query(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """A GET carries the GraphQL document and its variables in the query string: the span
    keeps the URL without it."""
    if not scope.get("query_string") or not span.is_recording():
        return
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    url = attributes.get("http.url")  # the attributes OpenTelemetry's conventions before 1.20 name
    if isinstance(url, str):
        span.set_attribute("http.url", url.partition("?")[0])
    if "url.query" in attributes:  # OTEL_SEMCONV_STABILITY_OPT_IN=http
        span.set_attribute("url.query", "REDACTED")


class OperationSpan(SchemaExtension):
    """Names the request's span after its GraphQL operation, `<type> <name>` (`query
    UsersPage`), with the `graphql.operation.*` attributes of OpenTelemetry's conventions. A
    document that does not parse leaves the HTTP name (`POST /graphql`)."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            span = trace.get_current_span()
            if span.is_recording() and self.execution_context.graphql_document is not None:
                self._name(span)

    def _name(self, span: trace.Span) -> None:
        try:
            kind = self.execution_context.operation_type.value
        except RuntimeError:  # operationName names no operation of the document
            return
        name = self.execution_context.operation_name
        span.update_name(f"{kind} {name}" if name else kind)
        span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
