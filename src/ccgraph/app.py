"""The ASGI application: GraphQL (with GraphiQL outside production) and a health check."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from cross_web.request import StarletteRequestAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from ccgraph import graphiql, metrics
from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.context import Context
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.db.migrate import readiness
from ccgraph.graphql_http import (
    CANNOT_EXECUTE,
    GRAPHQL_RESPONSE,
    JSON,
    DocumentError,
    Documents,
    cannot_execute,
    media_type,
)
from ccgraph.http import Guard, Idempotency, refusal
from ccgraph.live import Broker
from ccgraph.oauth import TokenEndpoint
from ccgraph.schema.schema import build_schema
from ccgraph.schema.webhooks import webhook_body
from ccgraph.services.auth import Unauthenticated, authenticate
from ccgraph.services.mail import MailSender
from ccgraph.services.outage import unreachable
from ccgraph.services.webhooks import WebhookSender
from ccgraph.tracing import start_tracing
from ccgraph.websocket import OVER_WEBSOCKET, SocketAdapter, SocketContext, TransportWSHandler, subscribes

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("ccgraph")


class ServiceUnavailable(Exception):
    """The database cannot be reached: the request is answered 503, not masked."""


class Adapter(StarletteRequestAdapter):
    """Strawberry's view of a request, with the request itself at hand."""

    @property
    def starlette(self) -> Request:
        return self._request


class GraphQLApp(GraphQL):
    request_adapter_class = Adapter
    # Subscriptions over WebSocket: ccgraph.websocket
    websocket_adapter_class = SocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        passwords: Passwords,
        box: SecretBox,
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            multipart_uploads_enabled=True,
            allowed_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        )
        self.settings = settings
        self.sessions = sessions
        self.passwords = passwords
        self.box = box
        self.documents = Documents(settings, sessions)
        self.broker = Broker(settings, sessions)  # this process's, for every subscription
        # SQLite has one writer at a time: queue this process's writers here (see Context.write)
        self.write_gate: Any = asyncio.Lock() if settings.is_sqlite else contextlib.nullcontext()

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson: invalid UTF-8 and nesting deeper than 1,024 are JSON errors (400), not
        crashes. The body must be an object (or a batch's list), and no string may hold a NUL
        byte: no database stores one."""
        value = orjson.loads(data)
        if not isinstance(value, dict | list):
            raise BadRequest("BAD_REQUEST", "The body must be a JSON object with a `query` string.")
        if _has_nul(value):
            raise BadRequest("BAD_USER_INPUT", "Strings may not contain NUL (\\u0000) characters.")
        return value

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry's run, answered as GraphQL over HTTP says (graphql_http): in the media
        type the client accepts, a request that could not execute as a 4xx to clients of the
        specification's type, and every refusal of the request as a whole as a GraphQL error
        with a code and the request id (Strawberry answers those in plain text)."""
        response = await self._run(request, context, root_value)
        if (
            isinstance(request, Request)
            and media_type(request) == GRAPHQL_RESPONSE
            and response.headers.get("content-type", "").startswith(JSON)
        ):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if response.status_code == 200 and request.scope.get("state", {}).get(CANNOT_EXECUTE):
                response.status_code = 400
        return response

    async def _run(self, request: Any, context: Any, root_value: Any) -> Any:
        request_id = getattr(request.state, "request_id", None) if hasattr(request, "state") else None
        try:
            return await super().run(request, context, root_value)
        except BadRequest as bad:
            return _json(400, refusal(bad.code, str(bad), request_id))
        except DocumentError as refused:
            request.scope.setdefault("state", {})[CANNOT_EXECUTE] = True
            return _json(refused.status, refusal(refused.code, str(refused), request_id))
        except HTTPException as exc:
            if exc.reason.endswith("not allowed when using GET"):
                message = "Only queries run over GET; send mutations with POST."
                body = refusal("OPERATION_NOT_SUPPORTED", message, request_id)
                return _json(405, body, headers={"allow": "POST"})
            code = HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
            status = 415 if exc.reason == "Unsupported content type" else exc.status_code
            return _json(
                status, refusal("UNSUPPORTED_MEDIA_TYPE" if status == 415 else code, exc.reason, request_id)
            )
        except Unauthenticated as refused:
            return _json(
                401,
                refusal("UNAUTHENTICATED", str(refused), request_id, reason=refused.reason),
                headers={"www-authenticate": _challenge(refused.reason)},
            )
        except ServiceUnavailable:
            message = f"The database cannot be reached; nothing was done (request id {request_id})."
            return _json(503, refusal("SERVICE_UNAVAILABLE", message, request_id))

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A browser's GET of the page; not a GET that names an operation by hash."""
        named = any(request.query_params.get(key) for key in ("extensions", "documentId"))
        return not named and super().should_render_graphql_ide(request)

    async def parse_http_body(self, request: Any) -> Any:
        """The request's operation, its document found by hash when it names one (persisted
        queries, trusted documents)."""
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            return data
        document_id = None
        if data.query is None:  # by hash only: the specification's `documentId`, if any
            if request.method == "GET":
                document_id = request.query_params.get("documentId")
            elif (request.content_type or "").startswith(JSON):
                body = self.decode_json(await request.get_body())
                document_id = body.get("documentId") if isinstance(body, dict) else None
        resolved = await self.documents.resolve(request.starlette, data, document_id)
        if subscribes(resolved.query, resolved.operation_name, self.settings):
            raise BadRequest("OPERATION_NOT_SUPPORTED", OVER_WEBSOCKET)
        return resolved

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """A request that never executed has no `data` for clients of the specification's type;
        a persisted query sent with its document is kept once it has run."""
        answer = await super().process_result(request, result)
        if result.errors and cannot_execute(answer):  # type: ignore[arg-type]
            request.scope.setdefault("state", {})[CANNOT_EXECUTE] = True
            if media_type(request) == GRAPHQL_RESPONSE:
                answer.pop("data", None)
        else:
            await self.documents.keep(request)
        return answer

    async def render_graphql_ide(self, request: Request) -> Response:
        """ccgraph's GraphiQL page (ccgraph.graphiql), not Strawberry's, which loads from a CDN."""
        return graphiql.page()

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        if self.is_websocket_request(request):  # signs in at connection_init (on_ws_connect)
            return SocketContext(self, request, self.broker)  # type: ignore[return-value]
        request_id = request.state.request_id
        try:
            principal = await self.caller(request)
        except Exception as exc:
            if unreachable(exc):
                log.warning("database unreachable (request id %s): %s", request_id, exc.__class__.__name__)
                raise ServiceUnavailable from exc
            raise
        request.state.user = principal.username if principal else None
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            passwords=self.passwords,
            box=self.box,
            sessions=self.sessions,
            write_gate=self.write_gate,
            principal=principal,
            request_id=request_id,
            per_request=True,
        )

    async def on_ws_connect(self, context: Any) -> Any:
        await context.connect()
        return UNSET

    async def caller(self, request: Request) -> Principal | None:
        """Who sends the request, looked up once (the idempotency check may ask first)."""
        state = request.scope.setdefault("state", {})
        if PRINCIPAL not in state:
            state[PRINCIPAL] = await self._principal(request)
        principal: Principal | None = state[PRINCIPAL]
        return principal

    async def _principal(self, request: Request) -> Principal | None:
        """`Authorization: Bearer <token>` for people, `AccessKey <id>:<secret>` for partners
        (services.auth.authenticate says which forms, and refuses bad ones)."""
        header = request.headers.get("authorization", "")
        if not header.strip():
            return None
        async with self.sessions() as session:
            client = request.client.host if request.client else None
            return await authenticate(session, header, client_address=client)


class BadRequest(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


PRINCIPAL = "principal"  # the request state's key for its caller
# What browsers may send cross-origin: ours, and what the common GraphQL clients add (Apollo
# Client's CSRF-prevention and operation headers, Apollo's client awareness, W3C trace context).
CORS_REQUEST_HEADERS = [
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "idempotency-key",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "graphql-client-name",
    "graphql-client-version",
    "traceparent",
    "tracestate",
    "baggage",
]
HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


class OnFirstUse:
    """An ASGI app built when the first request reaches it."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self.build = build
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            self.app = self.build()
        await self.app(scope, receive, send)


def _scim_app(**dependencies: Any) -> ASGIApp:
    from ccgraph.scim import scim_app

    return scim_app(**dependencies)


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _challenge(reason: str) -> str:
    """RFC 6750's challenge: which scheme to use, and that the one sent is no good."""
    scheme = "AccessKey" if reason.startswith("ACCESS_KEY") else "Bearer"
    return f'{scheme} realm="ccgraph", error="invalid_token", error_description="{reason}"'


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def create_app(settings: Settings | None = None, *, span_exporter: SpanExporter | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    if not settings.planned_execution:
        log.warning(
            "CCGRAPH_PLANNED_EXECUTION=false: every field runs through graphql-core's own executor "
            "(the reference the suite compares with; about 1.5x slower on a users page)"
        )
    engine = create_engine(settings)
    if settings.metrics_port:  # README, "Metrics": the request path counts only when they are on
        metrics.instrument(engine)
    # None unless OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (or tests pass an exporter)
    tracing = start_tracing(engine, span_exporter)
    sessions = session_factory(engine)
    passwords = Passwords(settings)
    box = SecretBox(settings)
    graphql = GraphQLApp(settings, sessions, passwords, box)
    mail_sender = MailSender(settings, sessions)
    webhook_sender = WebhookSender(settings, sessions, box, render=webhook_body)
    idempotent = Idempotency(
        graphql,
        settings=settings,
        sessions=sessions,
        write_gate=graphql.write_gate,
        box=box,
        caller=graphql.caller,
    )

    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers. It does not touch the database, so an outage does
        not get a healthy process restarted."""
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        """Readiness: the database answers within `db_connect_timeout_seconds` and is migrated
        to the code's head; 503 naming the check that failed otherwise."""
        ready = await readiness(engine, settings.db_connect_timeout_seconds)
        if not ready.migrated:
            log.warning("not ready: %s", ready.problem())
        return JSONResponse(ready.as_json(), status_code=200 if ready.migrated else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from ccgraph.db.engine import refresh_statistics

        async with sessions() as session:  # SQLite's planner statistics, as the data now are
            await refresh_statistics(session)
        await graphql.broker.start()
        delivery = asyncio.create_task(mail_sender.run()) if settings.mail_poll_seconds > 0 else None
        webhooks = asyncio.create_task(webhook_sender.run()) if settings.webhooks_poll_seconds > 0 else None
        collector = asyncio.create_task(collect_when_idle()) if _tuned else None
        try:
            yield
        finally:
            await graphql.broker.stop()
            for task in (delivery, webhooks, collector):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await engine.dispose()
            metrics.process_exited()
            if tracing is not None:
                await tracing.shutdown()

    middleware = [Middleware(Guard, settings=settings)]
    if settings.metrics_port:
        middleware.insert(0, Middleware(metrics.RequestMetrics))
    if settings.cors_origins:
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_REQUEST_HEADERS,
                expose_headers=["x-request-id", "idempotent-replayed"],
                max_age=7200,  # the longest any browser keeps a preflight (Chromium's cap)
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", idempotent, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth/token", TokenEndpoint(settings, sessions).__call__, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *(graphiql.routes() if graphql.graphql_ide else []),
            Mount(
                "/scim/v2",
                # built on first use: the SCIM models weigh some 15 MB that a server without
                # identity-provider provisioning need not carry
                OnFirstUse(
                    lambda: _scim_app(
                        sessions=sessions,
                        passwords=passwords,
                        box=box,
                        settings=settings,
                        write_gate=graphql.write_gate,
                        caller=graphql.caller,
                    )
                ),
            ),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    if tracing is not None:
        tracing.instrument(app, graphql.schema)
    app.state.engine = engine
    app.state.settings = settings
    app.state.passwords = passwords
    app.state.box = box
    app.state.write_gate = graphql.write_gate
    app.state.mail_sender = mail_sender
    app.state.webhook_sender = webhook_sender
    app.state.broker = graphql.broker
    return app


def app_factory() -> Any:
    """For `uvicorn --factory ccgraph.app:app_factory`: settings from the environment, and the
    collector tuned for serving."""
    app = create_app()
    tune_collector()
    return app


def tune_collector() -> None:
    """The garbage collector of a served process. A page of users allocates some 100,000
    objects that live until its response is sent, so at Python's default threshold (700)
    young collections run hundreds of times a request and promote the page to the oldest
    generation, whose full collections then walk it. What start-up built is frozen out of
    the collector, and a young collection waits for 100,000 allocations. What outlives a young
    collection then waits for a full one, which `collect_when_idle` runs (the app's lifespan
    starts it once the collector is tuned)."""
    global _tuned
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    _tuned = True


_tuned = False  # tune_collector ran: the process serves


async def collect_when_idle(every: float = 1.0, at_most: float = 10.0) -> None:
    """A full collection each `every` seconds when no request is in flight, and under steady
    load at least each `at_most` seconds. Idle, it costs about a millisecond (frozen objects
    are not walked) and keeps the heap some 10 MB smaller after a burst of pages; with 16 pages
    in flight it would walk all their objects (some 40 ms), once a second, which cost 6% of
    the throughput at concurrency 16. A request leaves almost no cycle behind it (the loaders
    and the executor drop theirs), so waiting costs little memory."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(every)
        if Guard.in_flight == 0 or time.monotonic() - last >= at_most:
            gc.collect()
            last = time.monotonic()
