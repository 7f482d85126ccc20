"""GraphQL subscriptions over WebSocket at `/graphql` (`graphql-transport-ws`, and the legacy
`graphql-ws`), around Strawberry's handlers:

- **Signing in** happens in `connection_init`: its payload carries the credentials as the HTTP
  header would (`{"Authorization": "Bearer <token>"}`, or an access key), checked by
  `services.auth.authenticate`. No credentials, or bad ones, close the socket with 4401; a
  password that must be changed first, with 4403.
- **Only subscriptions** run over the socket: queries and mutations are sent over HTTP, where
  idempotency keys, the access log and the write queue apply.
- **Delivery**: a subscription follows the process's broker (`ccgraph.live`). Before a batch of
  events is delivered, the socket's principal is read again if a change committed since it was
  read may have changed it (the broker marks them: a change to the user themselves, to a
  security profile or an access key; `services.publication.principals_changed`), or if it was
  read more than a minute ago; once a batch for all the sockets of one credential. So a
  permission revoked, a user disabled or deleted, or a session revoked takes effect at the next
  event. Each event is then filtered by `events.may_see` with that principal, and resolved in a
  context of its own (`DeliveryContext`): short database sessions, and the batch's loaders, which
  every credential's subscribers share. No database session is held for a socket's life, nor
  while events are sent.
- **Sign-in ended**: when the credentials no longer sign in (the session revoked, the password
  reset, the user disabled or deleted), `viewerSessionEnded` is pushed and the socket closed
  (4401, with the reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, cast

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from ccgraph.auth.principal import Principal
from ccgraph.context import Context
from ccgraph.execution.operations import operation_kind
from ccgraph.live import DROPPED, SIGN_IN_ENDING, Batch, Broker, Ended, Subscriber
from ccgraph.loaders import Loaders
from ccgraph.services import events, publication
from ccgraph.services.auth import Unauthenticated, authenticate
from ccgraph.services.events import Event
from ccgraph.services.outage import unreachable
from ccgraph.services.publication import ImportProgress

if TYPE_CHECKING:
    from ccgraph.app import GraphQLApp

log = logging.getLogger("ccgraph.live")

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
# The context of the event being delivered, in the subscription's own task (see SocketContext).
_delivering: contextvars.ContextVar[Context | None] = contextvars.ContextVar("ccgraph_delivery", default=None)


class Reads:
    """What the deliveries of one batch read from the database, whoever they are for: short
    sessions (one a use: a loader's batch, a resolver's read, closed at once; at most the
    broker's `db_gate` at a time) and one set of loaders. Loaders read rows by id, whoever asks
    (the checks are the resolvers'), so the subscribers of every credential share them: the
    object of an event is read once a batch. Sending the events, which waits for the clients,
    holds no connection; a burst of deliveries queues at the gate rather than overflowing the
    pool."""

    def __init__(self, broker: Broker, sessions: async_sessionmaker[AsyncSession], batch: bool) -> None:
        self.gate = broker.db_gate
        self.sessions = sessions
        self.batch = batch
        self._loaders: Loaders | None = None
        self.holders = 0

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self.gate, self.sessions() as session:
            yield session

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.db, batch=self.batch)
        return self._loaders

    def hold(self) -> None:
        self.holders += 1

    def release(self) -> None:
        self.holders -= 1
        if self.holders == 0 and self._loaders is not None:
            self._loaders.release()  # what they cached goes with the batch (no cycles kept)
            self._loaders = None


@dataclass
class DeliveryContext(Context):
    """A request's context for the events of one batch, as one credential's subscribers see
    them: its principal, and the batch's reads (`Reads`)."""

    reads: Reads | None = None

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        assert self.reads is not None
        async with self.reads.db() as session:
            yield session

    @property
    def loaders(self) -> Loaders:
        assert self.reads is not None
        return self.reads.loaders

    async def close(self) -> None:  # nothing of its own to close: the batch's reads are shared
        return None


@dataclass(slots=True)
class Delivery:
    """One batch, for the subscriptions of one credential: the principal as it is now (or why it
    no longer signs in), and the context their events are resolved in."""

    principal: Principal | None
    ended: str | None = None
    context: DeliveryContext | None = None
    read_at: tuple[int, float] = (0, 0.0)  # when the principal was read: the broker's epoch, time

    def hold(self) -> None:
        if self.context is not None and self.context.reads is not None:
            self.context.reads.hold()

    async def release(self) -> None:
        if self.context is not None and self.context.reads is not None:
            self.context.reads.release()


@dataclass(frozen=True, slots=True)
class Interest:
    """What one subscription follows."""

    events: Callable[[Event], bool] | None = None
    subjects: frozenset[int] | None = None  # the objects `events` is limited to, if it names them
    import_id: str | None = None
    session_end: bool = False


class SocketContext:
    """The context of a WebSocket's operations. Strawberry gives one context to every operation
    of a socket; the fields of an event, though, must be resolved for the subscriber as it is
    when the event is delivered, with a session of their own. So attributes that a request's
    `Context` has (principal, loaders, db...) are read from the delivery being resolved (a
    context variable, set by `follow` in the subscription's own task), and otherwise from the
    socket's context as it signed in."""

    def __init__(self, view: GraphQLApp, websocket: WebSocket, broker: Broker) -> None:
        self.socket_id = uuid.uuid4().hex
        self.base = Context(
            request=websocket,  # type: ignore[arg-type]  # a connection, as a request is
            response=cast(Any, None),
            settings=view.settings,
            passwords=view.passwords,
            box=view.box,
            sessions=view.sessions,
            principal=None,
            request_id=self.socket_id,
        )
        self.view = view
        self.websocket = websocket
        self.broker = broker
        self.connection_params: dict[str, Any] | None = None  # connection_init's payload
        self.authorization = ""
        self.read_at = (0, 0.0)  # when base.principal was read (see Broker.principal_stale)
        self.refusal: tuple[int, str] | None = None
        self.subscribers: set[Subscriber] = set()
        self.ended: Ended | None = None
        self.watchers = 0  # viewerSessionEnded subscriptions: they close the socket
        self.closed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        websocket.state.socket = self

    def __getattr__(self, name: str) -> Any:
        if name == "base":
            raise AttributeError(name)
        current = _delivering.get()
        return getattr(current if current is not None else self.base, name)

    # -- signing in -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """connection_init: sign in with the payload's credentials, or refuse the socket."""
        params = self.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if not isinstance(authorization, str) or not authorization.strip():
            self.refuse(UNAUTHENTICATED, 'UNAUTHENTICATED: send {"Authorization": "Bearer <token>"} first')
        client = self.websocket.client.host if self.websocket.client else None
        read_at = (self.broker.epoch, time.monotonic())
        try:
            async with self.view.sessions() as session:
                principal = await authenticate(session, authorization, client_address=client)
        except Unauthenticated as refused:
            self.refuse(UNAUTHENTICATED, refused.reason)
        except Exception as exc:
            if unreachable(exc):
                self.refuse(1011, "SERVICE_UNAVAILABLE")
            raise
        if principal is None:
            self.refuse(UNAUTHENTICATED, "UNAUTHENTICATED")
        if principal.must_change_password:
            self.refuse(FORBIDDEN, "PASSWORD_CHANGE_REQUIRED: change the password over HTTP first")
        self.authorization = authorization
        self.base.principal = principal
        self.read_at = read_at

    def refuse(self, code: int, reason: str) -> NoReturn:
        self.refusal = (code, reason[:120])
        raise ConnectionRejectionError({"code": reason.split(":")[0], "message": reason})

    @property
    def principal_at_sign_in(self) -> Principal:
        principal = self.base.principal
        if principal is None:  # Strawberry runs no operation before connection_ack
            raise GraphQLError("Not signed in.", extensions={"code": "UNAUTHENTICATED"})
        return principal

    # -- following the broker -------------------------------------------------------------------

    async def follow(self, interest: Interest) -> AsyncIterator[Any]:
        """What the subscription is told of, as its subscriber may see it now: events,
        import progress, or `Ended` (only to a session_end interest). While one is resolved,
        its delivery's context is the operation's."""
        principal = self.principal_at_sign_in
        subscriber = Subscriber(
            self.broker.backlog,
            wants=interest.events,
            subjects=interest.subjects,
            user_id=principal.user_id,
            import_id=interest.import_id,
        )
        await self.broker.subscribe(subscriber)
        self.subscribers.add(subscriber)
        self.watchers += interest.session_end
        try:
            if interest.import_id is not None:
                last = self.broker.last_progress(interest.import_id)
                if last is not None:
                    subscriber.offer(Batch(0, progress=last))
            if self.ended is not None:
                subscriber.tell(self.ended)
            while True:
                item = await subscriber.queue.get()
                if item is DROPPED:
                    raise GraphQLError(
                        "This subscription fell too far behind its events and was ended; subscribe "
                        "again, and catch up with the `events` feed from the last cursor received.",
                        extensions={"code": "SUBSCRIPTION_TOO_SLOW"},
                    )
                if isinstance(item, Ended):
                    if not interest.session_end:
                        return
                    yield item
                    await self.close_socket(UNAUTHENTICATED, item.reason)
                    await asyncio.Event().wait()  # the socket is closing: its handler cancels us
                batch: Batch = item
                delivery = await self._delivery(batch)
                if delivery.ended is not None:
                    event = _ending_event(batch, principal.user_id)
                    action = batch.actions.get(event.id) if event is not None else None
                    self.end(Ended(delivery.ended, event, action))
                    continue
                seen = [x for x in _items(batch, interest) if _visible(delivery.principal, x)]
                if not seen:
                    continue
                delivery.hold()
                try:
                    for found in seen:
                        token = _delivering.set(delivery.context)
                        try:
                            yield found
                        finally:
                            with contextlib.suppress(ValueError):  # closed from another task
                                _delivering.reset(token)
                finally:
                    await delivery.release()
        finally:
            self.broker.unsubscribe(subscriber)
            self.subscribers.discard(subscriber)
            self.watchers -= interest.session_end

    async def _delivery(self, batch: Batch) -> Delivery:
        """The batch's delivery for this socket's credential, worked out once a batch (by the
        first of its sockets to need it): the principal read again when a change since it was
        read may have changed it (or a minute has gone by), else as it was."""
        key = ("delivery", self.authorization)
        found = batch.shared.get(key)
        if found is None:
            found = batch.shared[key] = asyncio.ensure_future(self._prepare(batch))
        delivery: Delivery = await asyncio.shield(found)
        if delivery.principal is not None and delivery.read_at > self.read_at:
            self.base.principal, self.read_at = delivery.principal, delivery.read_at
        return delivery

    async def _prepare(self, batch: Batch) -> Delivery:
        principal = self.base.principal
        read_at = self.read_at
        if principal is None or batch.recheck or self.broker.principal_stale(principal.user_id, read_at):
            client = self.websocket.client.host if self.websocket.client else None
            read_at = (self.broker.epoch, time.monotonic())
            try:
                async with self.broker.db_gate, self.view.sessions() as session:
                    principal = await authenticate(session, self.authorization, client_address=client)
            except Unauthenticated as refused:
                return Delivery(None, refused.reason)
            if principal is None:
                return Delivery(None, "TOKEN_INVALID")
        reads = batch.shared.get("reads")
        if reads is None:
            reads = batch.shared["reads"] = Reads(
                self.broker, self.view.sessions, self.view.settings.dataloaders
            )
        context = DeliveryContext(
            reads=reads,
            request=self.websocket,  # type: ignore[arg-type]
            response=cast(Any, None),
            settings=self.view.settings,
            passwords=self.view.passwords,
            box=self.view.box,
            sessions=self.view.sessions,
            principal=principal,
            request_id=f"{self.socket_id}-{batch.number}",
        )
        return Delivery(principal, context=context, read_at=read_at)

    # -- ending ---------------------------------------------------------------------------------

    def end(self, ended: Ended) -> None:
        """The credentials no longer sign in: every subscription of the socket hears it; the
        socket closes (after `viewerSessionEnded` is pushed, when subscribed)."""
        if self.ended is not None:
            return
        self.ended = ended
        for subscriber in list(self.subscribers):
            subscriber.tell(ended)
        if not self.watchers:
            task = asyncio.get_running_loop().create_task(self.close_socket(UNAUTHENTICATED, ended.reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close_socket(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError):  # the client went first
            await self.websocket.close(code=code, reason=reason[:120])


def _ending_event(batch: Batch, user_id: int) -> Event | None:
    return next(
        (e for e in batch.events if e.subject_id == user_id and e.type in SIGN_IN_ENDING),
        None,
    )


def _items(batch: Batch, interest: Interest) -> list[Any]:
    if batch.progress is not None:
        return [batch.progress] if batch.progress.import_id == interest.import_id else []
    wants = interest.events
    return [e for e in batch.events if wants(e)] if wants is not None else []


def _visible(principal: Principal | None, item: Any) -> bool:
    if isinstance(item, ImportProgress):
        return publication.may_watch(principal, item)
    return events.may_see(principal, item)


# -- Strawberry's protocol handlers, ours -------------------------------------------------------


class SocketAdapter(ASGIWebSocketAdapter):
    """Sends text frames; closes with the refusal's code (Strawberry closes a refused
    connection_init with 4403, or 1011 in the legacy protocol); drops what is sent once the
    socket has closed."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        """As a text frame, as the protocols say (the view's encoder gives bytes, which Strawberry
        would send as a binary frame: browsers' clients cannot read those)."""
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        encoded = self.view.encode_json(message)
        try:
            await self.ws.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def close(self, code: int, reason: str) -> None:
        socket = getattr(self.ws.state, "socket", None)
        if socket is not None and socket.refusal is not None:
            code, reason = socket.refusal
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        if socket is not None:
            await socket.close_socket(code, reason)
        else:
            await super().close(code, reason)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws, with queries and mutations refused: they are sent over HTTP."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        if (
            self.connection_acknowledged
            and isinstance(payload, dict)
            and isinstance(payload.get("query"), str)
        ):
            kind = operation_kind(
                payload["query"], payload.get("operationName"), cast(Any, self.view).settings.max_query_tokens
            )
            if kind in ("query", "mutation"):
                error = GraphQLError(
                    f"Only subscriptions run over WebSocket; send the {kind} over HTTP (POST /graphql).",
                    extensions={"code": "OPERATION_NOT_SUPPORTED"},
                )
                await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
                return
        await super().handle_subscribe(message)


OVER_WEBSOCKET = "Subscriptions run over WebSocket at /graphql (graphql-transport-ws)."


def subscribes(query: str | None, operation_name: str | None, settings: Any) -> bool:
    """Whether an HTTP request asks for a subscription (refused: they run over WebSocket). Only a
    document that names the word is parsed, so that this costs other requests nothing."""
    return (
        query is not None
        and "subscription" in query
        and operation_kind(query, operation_name, settings.max_query_tokens) == "subscription"
    )


def socket_of(info: Any) -> SocketContext:
    """The socket a subscription runs on; subscriptions run over WebSocket only."""
    context = info.context
    if not isinstance(context, SocketContext):
        raise GraphQLError(OVER_WEBSOCKET, extensions={"code": "OPERATION_NOT_SUPPORTED"})
    return context
