"""HTTP around the API: a request id for every request (its `x-request-id`, and every line it
logs), security headers on every response, a cap on request bodies, one access-log line per
request (request id, operation, user, duration, status), and
idempotent retries of mutations (`Idempotency-Key`). Nothing a request carries in its body is
logged."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers, MutableHeaders, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.db.engine import carry_write_gate
from ccgraph.execution.operations import operation_kind
from ccgraph.logs import request_context
from ccgraph.services import idempotency
from ccgraph.services.auth import Unauthenticated
from ccgraph.services.outage import unreachable

access_log = logging.getLogger("ccgraph.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def refusal(code: str, message: str, request_id: str | None, **extensions: Any) -> bytes:
    """The JSON body of a request the server will not run: a GraphQL error with a code and the
    request id, whatever went wrong (a bad body, an outage, a size)."""
    return json.dumps(
        {
            "errors": [
                {"message": message, "extensions": {"code": code, "requestId": request_id, **extensions}}
            ]
        }
    ).encode()


class BodyTooLarge(Exception):
    pass


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-store",
    }
    if settings.production:  # no GraphiQL page to serve: nothing may load from anywhere
        headers["content-security-policy"] = "default-src 'none'; frame-ancestors 'none'"
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return headers


class Guard:
    in_flight = 0  # HTTP requests this process is serving now (the collector waits for none)

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.headers = [(k.encode(), v.encode()) for k, v in security_headers(settings).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_headers = dict(scope.get("headers") or ())
        incoming = request_headers.get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        Guard.in_flight += 1
        try:
            with request_context(state["request_id"]):
                await self._guarded(scope, receive, send, state, request_headers.get(b"content-length"))
        finally:
            Guard.in_flight -= 1

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any], length: bytes | None
    ) -> None:
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        received = 0

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = MutableHeaders(scope=message)
                for key, value in self.headers:
                    if key.decode() not in headers:
                        headers.append(key.decode(), value.decode())
                headers["x-request-id"] = state["request_id"]
            await send(message)

        try:
            if length is not None and length.isdigit() and int(length) > self.limit:
                raise BodyTooLarge
            await self.app(scope, guarded_receive, guarded_send)
        except BodyTooLarge:
            if status["sent"]:
                raise
            message = f"The request body is larger than {self.limit} bytes."
            await _answer(guarded_send, 413, refusal("REQUEST_TOO_LARGE", message, state["request_id"]))
        except Exception:
            # A fault no layer below answered: JSON with the request id, the details in the log.
            access_log.exception("unhandled error")
            if status["sent"]:
                raise
            message = f"Internal server error (request id {state['request_id']})."
            await _answer(guarded_send, 500, refusal("INTERNAL_SERVER_ERROR", message, state["request_id"]))
        finally:
            self._log(scope, state, status["code"], started)

    def _log(self, scope: Scope, state: dict[str, Any], status: int, started: float) -> None:
        method, path = scope.get("method"), scope.get("path")
        access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "requestId": state["request_id"],
                "method": method,
                "path": path,
                "operation": state.get("operation"),
                "user": state.get("user"),
                "status": status,
                "durationMs": round((time.perf_counter() - started) * 1000, 1),
            },
        )


IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
REPLAYED = "idempotent-replayed"
# The answers of a failure on our side: the key is released, so that a retry runs.
SERVER_ERRORS = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "DATABASE_BUSY"})
REFUSALS = {
    idempotency.Refusal.IN_USE: (409, "A request with this Idempotency-Key is still running; retry later."),
    idempotency.Refusal.REUSED: (422, "This Idempotency-Key was sent with another request; use a new key."),
}


@dataclass(frozen=True, slots=True)
class Operation:
    """What a POST asks to run, and the SHA-256 of it in a canonical form."""

    query: str
    name: str | None
    fingerprint: str


class Idempotency:
    """Retries made safe (the `Idempotency-Key` header, as Stripe and the IETF draft
    draft-ietf-httpapi-idempotency-key-header have it). A mutation sent with a key by a
    signed-in caller runs once: the same key and the same request within
    `CCGRAPH_IDEMPOTENCY_TTL_SECONDS` (24 hours) get the first answer back, byte for byte,
    with `Idempotent-Replayed: true`; the same key with another request is refused (422), and
    so is a key whose first request still runs (409). An answer that is a failure of ours
    releases the key. Queries, and callers who are not signed in (no one to keep the key
    for), run as if there were no key."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        write_gate: AbstractAsyncContextManager[Any],
        box: SecretBox,
        caller: Callable[[Request], Awaitable[Principal | None]],
    ) -> None:
        self.app = app
        self.max_tokens = settings.max_query_tokens
        self.ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
        self.sessions = sessions
        self.write_gate = write_gate
        self.box = box
        self.caller = caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = Headers(scope=scope).get("idempotency-key") if scope["type"] == "http" else None
        if header is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        operation = await _operation(scope, body, receive)
        if (
            operation is None
            or operation_kind(operation.query, operation.name, self.max_tokens) != "mutation"
        ):
            await self.app(scope, _replay(body, receive), send)
            return
        key = _key(header)
        request_id = scope.get("state", {}).get("request_id")
        if key is None:
            message = "Idempotency-Key must be 1 to 255 printable ASCII characters."
            await _answer(send, 400, refusal("IDEMPOTENCY_KEY_INVALID", message, request_id))
            return
        try:
            principal = await self.caller(Request(scope, _replay(body, receive)))
            claim = None if principal is None else await self._claim(principal, key, operation)
        except Unauthenticated:  # the request is refused as a whole, below
            claim = None
        except Exception as exc:
            if not _unavailable(exc):
                raise
            message = (
                f"The database cannot be reached or is busy; nothing was done (request id {request_id})."
            )
            await _answer(send, 503, refusal("SERVICE_UNAVAILABLE", message, request_id))
            return
        if claim is None:  # no one to keep the key for
            await self.app(scope, _replay(body, receive), send)
        elif isinstance(claim, idempotency.Refusal):
            status, message = REFUSALS[claim]
            await _answer(send, status, refusal(claim.value, message, request_id))
        elif isinstance(claim, idempotency.Answer):
            await _answer(send, claim.status, claim.body, claim.content_type, replayed=True)
        else:
            await self._run(claim, scope, _replay(body, receive), send)

    async def _claim(
        self, principal: Principal, key: str, operation: Operation
    ) -> idempotency.Claimed | idempotency.Answer | idempotency.Refusal:
        async with self._session() as session:
            caller = idempotency.Caller.of(principal)
            return await idempotency.claim(session, caller, key, operation.fingerprint, self.box, self.ttl)

    async def _run(self, claimed: idempotency.Claimed, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request holding the key; keep its answer before the client has it, so that
        a retry made once it has can only find the answer."""
        messages: list[Message] = []

        async def kept(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, kept)
        except BaseException:
            await self._settle(claimed, None)
            raise
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        answer = (
            idempotency.Answer(
                start["status"],
                Headers(raw=start.get("headers") or []).get("content-type", ""),
                b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body"),
            )
            if start is not None
            else None
        )
        await self._settle(claimed, answer)
        for message in messages:
            await send(message)

    async def _settle(self, claimed: idempotency.Claimed, answer: idempotency.Answer | None) -> None:
        """Keep the answer, or give the key up when the request failed on our side. Should the
        database fail us here, the key stays in progress until its lease runs out."""
        try:
            async with self._session() as session:
                if answer is None or _server_error(answer):
                    await idempotency.release(session, claimed)
                else:
                    await idempotency.complete(session, claimed, answer, self.box)
        except Exception as exc:
            if not _unavailable(exc):
                raise
            access_log.warning("idempotency key %s not settled: %s", claimed.id, exc.__class__.__name__)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """A session whose writes queue on the process's write gate (SQLite), as requests' do."""
        async with self.sessions() as session:
            if isinstance(self.write_gate, asyncio.Lock):
                carry_write_gate(session, self.write_gate)
            yield session


def _key(header: str) -> str | None:
    """The key, also as the draft's quoted string (`"..."`); None when it is malformed."""
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    return key if IDEMPOTENCY_KEY.match(key) else None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then waits as the server's would."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _operation(scope: Scope, body: bytes, receive: Receive) -> Operation | None:
    """The operation of a JSON or multipart POST, fingerprinted from what it means: the query,
    operation name and variables; for an upload the `operations` and `map` fields and the
    SHA-256 of each file (not the raw body, whose boundary is random). None when it cannot be
    read (Strawberry refuses it, and nothing runs)."""
    content_type = Headers(scope=scope).get("content-type", "")
    try:
        if "application/json" in content_type:
            data = orjson.loads(body)
            request = data if isinstance(data, dict) else {}
            meant: Any = [request.get("query"), request.get("operationName"), request.get("variables") or {}]
        elif content_type.partition(";")[0].strip().lower() == "multipart/form-data":
            request, meant = await _upload(scope, body, receive)
        else:
            return None
    except (ValueError, HTTPException, MultiPartException):
        return None
    query, name = request.get("query"), request.get("operationName")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None
    return Operation(query, name, _digest(meant))


async def _upload(scope: Scope, body: bytes, receive: Receive) -> tuple[dict[str, Any], Any]:
    """An upload's operation, and what its fingerprint is made of."""
    async with Request(scope, _replay(body, receive)).form() as form:
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                digest = hashlib.sha256()
                while chunk := await value.read(1 << 16):
                    digest.update(chunk)
                fields[name] = digest.hexdigest()
            else:
                fields[name] = orjson.loads(value) if name in ("operations", "map") else value
    operations = fields.get("operations")
    return (operations if isinstance(operations, dict) else {}), fields


def _server_error(answer: idempotency.Answer) -> bool:
    """A 5xx, or a GraphQL answer whose errors are ours and in which no mutation answered
    (one that did may have written: its answer is kept)."""
    if answer.status >= 500:
        return True
    try:
        data = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(data, dict):
        return False
    codes = {
        (error.get("extensions") or {}).get("code")
        for error in data.get("errors") or ()
        if isinstance(error, dict)
    }
    answered = any(value is not None for value in (data.get("data") or {}).values())
    return bool(codes & SERVER_ERRORS) and not answered


def _unavailable(error: BaseException) -> bool:
    """The database cannot be reached, or (SQLite) stayed locked: nothing was done."""
    return unreachable(error) or (isinstance(error, OperationalError) and "locked" in str(error))


async def _answer(
    send: Send, status: int, body: bytes, content_type: str = "application/json", *, replayed: bool = False
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    if replayed:
        headers.append((REPLAYED.encode(), b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
