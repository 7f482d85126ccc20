"""The ASGI application: GraphQL (with GraphiQL outside production) and a health check."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.context import Context
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.http import Guard
from ccgraph.schema.schema import build_schema
from ccgraph.services.auth import principal_for_access_key, principal_for_token
from ccgraph.services.mail import MailSender

log = logging.getLogger("ccgraph")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class GraphQLApp(GraphQL):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        passwords: Passwords,
        box: SecretBox,
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide=None if settings.production else "graphiql",
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.sessions = sessions
        self.passwords = passwords
        self.box = box
        # SQLite has one writer at a time: queue this process's writers here (see Context.write)
        self.write_gate: Any = asyncio.Lock() if settings.is_sqlite else contextlib.nullcontext()

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response.headers["x-request-id"] = request_id
        principal = await self._principal(request)
        request.state.request_id = request_id  # for the access log
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
        )

    async def _principal(self, request: Request) -> Principal | None:
        """`Authorization: Bearer <token>` for people, `AccessKey <id>:<secret>` for partners."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        credentials = credentials.strip()
        if not credentials:
            return None
        async with self.sessions() as session:
            if scheme.lower() == "bearer":
                return await principal_for_token(session, credentials)
            if scheme.lower() == "accesskey":
                key_id, _, secret = credentials.partition(":")
                return await principal_for_access_key(session, key_id, secret) if secret else None
        return None


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    engine = create_engine(settings)
    sessions = session_factory(engine)
    passwords = Passwords(settings)
    graphql = GraphQLApp(settings, sessions, passwords, SecretBox(settings))
    mail_sender = MailSender(settings, sessions)

    async def healthz(_request: Request) -> Response:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        delivery = asyncio.create_task(mail_sender.run()) if settings.mail_poll_seconds > 0 else None
        try:
            yield
        finally:
            if delivery is not None:
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivery
            await engine.dispose()

    middleware = [Middleware(Guard, settings=settings)]
    if settings.cors_origins:
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.passwords = passwords
    app.state.mail_sender = mail_sender
    return app


def app_factory() -> Any:
    """For `uvicorn --factory ccgraph.app:app_factory`: settings from the environment.

    A served process tunes the garbage collector: a page of users allocates some 100,000
    objects that live until its response is sent, so at Python's default threshold (700)
    young collections run hundreds of times a request and promote the page to the oldest
    generation, whose full collections then walk it. What start-up built is frozen out of
    the collector, and a young collection waits for 100,000 allocations (bench/hot_path.py
    and the README give the figures)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    return app
