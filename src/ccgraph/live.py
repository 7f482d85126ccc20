"""The broker: one per process, it follows the event log for every subscription of the process.

A write that records audit events publishes them after it commits (`services.publication`):
on PostgreSQL by `NOTIFY`, which every process receives on a connection of its own that
`LISTEN`s (so a subscriber on one worker, or one machine, hears of a change made through
another); on SQLite in the process itself. Either way the notification only wakes the broker:
it then reads what is new after its cursor, ONCE for all its subscribers
(`events.committed_after`, which never skips an event that commits out of order), and hands the
batch to each subscriber that wants one of its events. A slow poll does the same when nothing
wakes it, so an event is never lost to a dropped connection or another process on the same
SQLite file; it only comes later.

Each subscriber has a bounded queue: one that falls `backlog` batches behind is dropped (its
subscription ends with `SUBSCRIPTION_TOO_SLOW`) rather than holding memory for it. What a
subscriber is told is decided when it is delivered, with its principal as it is then
(`ccgraph.websocket`).

A running import's progress is not in the log (nothing has committed yet): the broker sends it
to every process by `NOTIFY` outside the import's transaction (in-process on SQLite), and keeps
the last report of recent imports for subscriptions that start late.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.services import events, publication
from ccgraph.services.errors import UserError
from ccgraph.services.events import Event, EventType
from ccgraph.services.outage import unreachable
from ccgraph.services.publication import ImportProgress

if TYPE_CHECKING:
    from ccgraph.services.bulk import imports

log = logging.getLogger("ccgraph.live")

PAGE = 500  # audit rows read at a time
# Every socket checks its credentials this often even when nothing concerns it: a token that
# expired, or an access key deactivated, ends its subscriptions within this time.
RECHECK_SECONDS = 60.0
# An event id notified but not readable yet (a transaction older than its own still running,
# see `committed_after`) is read again after this long, doubling up to the poll interval.
RETRY_SECONDS = 0.02
FORGET_NOTIFIED_SECONDS = 30.0  # an event id notified and never read (its unit was deleted)
RECENT_IMPORTS = 1000  # imports whose last progress report is kept
RECENT_IMPORT_SECONDS = 600.0

# The events after which a user's credentials may no longer sign in: a subscriber hears of its
# own, whatever it follows, to check them again (and end its socket if they no longer do).
SIGN_IN_ENDING = frozenset(
    {EventType.USER_DELETED, EventType.USER_DISABLED, EventType.USER_CREDENTIALS_CHANGED}
)


@dataclass(slots=True)
class Batch:
    """What one wake-up read, shared by every subscriber: the new events, or an import's
    progress, or (`recheck`) nothing but a reminder to check credentials again. `shared` keeps
    what the subscribers of one credential work out once a batch (their principal as it is now,
    see `ccgraph.websocket`)."""

    number: int
    events: list[Event] = field(default_factory=list)
    actions: dict[int, str] = field(default_factory=dict)  # event id -> its audit action
    progress: ImportProgress | None = None
    recheck: bool = False
    shared: dict[Any, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ended:
    """The subscriber's credential no longer signs in (`reason`: `services.auth.REFUSALS`)."""

    reason: str
    event: Event | None = None  # the event after which they no longer did, if one
    action: str | None = None  # its audit action ("user.delete"...)


DROPPED = object()  # put in a subscriber's queue when it fell too far behind


class Subscriber:
    """One subscription's end of the broker: what it wants, and its bounded queue."""

    def __init__(
        self,
        backlog: int,
        *,
        wants: Callable[[Event], bool] | None = None,
        subjects: frozenset[int] | None = None,
        user_id: int | None = None,
        import_id: str | None = None,
    ) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=backlog)
        self.wants = wants
        # The objects `wants` is limited to, when it names them: the broker then offers it only
        # the batches with an event about one of them (or about its user).
        self.subjects = subjects
        self.user_id = user_id  # events that may end this user's sign-in are wanted too
        self.import_id = import_id
        self.dropped = False

    def concerned(self, batch: Batch) -> bool:
        if batch.recheck:
            return True
        if batch.progress is not None:
            return batch.progress.import_id == self.import_id
        wants = self.wants
        for event in batch.events:
            if (wants is not None and wants(event)) or (
                event.subject_id == self.user_id and event.type in SIGN_IN_ENDING
            ):
                return True
        return False

    def offer(self, item: Any) -> bool:
        """Queue `item`; False (and the subscriber is dropped) when it is too far behind."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.dropped = True
            self.tell(DROPPED)
            return False

    def tell(self, item: Any) -> None:
        """Put `item` first in line: what was queued no longer matters."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(item)


class Broker:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.poll_seconds = settings.live_poll_seconds
        self.backlog = settings.subscription_backlog
        self.postgresql = not settings.is_sqlite
        self.subscribers: set[Subscriber] = set()
        # The database sessions deliveries may hold at once (credentials read again, events'
        # objects read for their subscribers): half the pool, so that a burst of them queues here
        # rather than opening and closing overflow connections, and requests keep theirs.
        self.db_gate = asyncio.Semaphore(max(1, settings.db_pool_size // 2))
        # Who may be concerned by an event about an object (its id): those that follow it by
        # name, and those whose sign-in it may end; the others hear of every batch.
        self._by_subject: dict[int, set[Subscriber]] = {}
        self._everything: set[Subscriber] = set()
        self._cursor: int | None = None  # the id of the last audit row read; None: no subscriber
        self._number = 0
        self._lock = asyncio.Lock()  # one read of the log at a time
        self._woken = asyncio.Event()
        self._notified: dict[int, float] = {}  # event ids notified, not read yet -> when to forget
        self._retry = RETRY_SECONDS
        self._next_recheck = 0.0
        self._recent: OrderedDict[str, tuple[float, ImportProgress]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._removals: list[Callable[[], None]] = []
        self._listener: Any = None  # an asyncpg connection
        self._listener_lock = asyncio.Lock()
        self._sending: set[asyncio.Task[None]] = set()
        self._channels: dict[str, str] = {}
        self.reads = 0  # for tests and the benchmark: reads of the log
        # Principals as they may have changed: `epoch` counts the pages of the log read; a row
        # that may change a user's credentials or permissions (services.publication.
        # principals_changed) marks that user, or everyone, at the epoch it was read in. A
        # subscriber's principal read at an earlier epoch is read again before its next delivery
        # (see ccgraph.websocket); one read more than RECHECK_SECONDS ago is read again anyway.
        self.epoch = 0
        self._changed_users: dict[int, tuple[int, float]] = {}  # user id -> (epoch, when)
        self._changed_everyone: tuple[int, float] = (0, 0.0)

    # -- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._next_recheck = time.monotonic() + RECHECK_SECONDS
        self._removals = [publication.on_commit(self.wake)]
        if self.postgresql:
            with contextlib.suppress(Exception):  # an outage at start: the loop connects later
                await self._listen()
        self._task = asyncio.create_task(self._run(), name="ccgraph-broker")
        _current.append(self)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            _current.remove(self)
        for remove in self._removals:
            with contextlib.suppress(ValueError):
                remove()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._unlisten()
        for subscriber in list(self.subscribers):
            self.unsubscribe(subscriber)

    def wake(self) -> None:
        """Read the log now (called after a commit on SQLite, and on a notification)."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to wake
            loop.call_soon_threadsafe(self._woken.set)

    # -- subscribers ----------------------------------------------------------------------------

    async def subscribe(self, subscriber: Subscriber) -> None:
        """From now on: the subscriber is told of what commits after this."""
        async with self._lock:
            if self._cursor is None:
                await self._start_at_end()
            self.subscribers.add(subscriber)
            if subscriber.subjects is None:
                self._everything.add(subscriber)
            for subject in {*(subscriber.subjects or ()), subscriber.user_id}:
                if subject is not None:
                    self._by_subject.setdefault(subject, set()).add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self._everything.discard(subscriber)
        for subject in {*(subscriber.subjects or ()), subscriber.user_id}:
            followers = self._by_subject.get(subject) if subject is not None else None
            if followers is not None:
                followers.discard(subscriber)
                if not followers:
                    del self._by_subject[subject]

    def last_progress(self, import_id: str) -> ImportProgress | None:
        found = self._recent.get(import_id)
        return found[1] if found is not None else None

    def _dispatch(self, batch: Batch) -> None:
        if batch.events:
            candidates = set(self._everything)
            for event in batch.events:
                candidates.update(self._by_subject.get(event.subject_id or 0, ()))
        else:
            candidates = set(self.subscribers)
        for subscriber in candidates:
            if subscriber.concerned(batch) and not subscriber.offer(batch):
                self.unsubscribe(subscriber)
                log.warning("a subscriber fell %s batches behind and was dropped", self.backlog)

    def _batch(self, **what: Any) -> Batch:
        self._number += 1
        return Batch(self._number, **what)

    # -- reading the log ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            timeout = min(self._retry, self.poll_seconds) if self._notified else self.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout)
            self._woken.clear()
            try:
                if self.postgresql and (self._listener is None or self._listener.is_closed()):
                    await self._listen()
                await self.read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not unreachable(exc):
                    log.exception("the broker could not read the event log")
                else:
                    log.warning("the broker cannot reach the database: %s", exc.__class__.__name__)
                await asyncio.sleep(self.poll_seconds)
            now = time.monotonic()
            if now >= self._next_recheck:
                self._next_recheck = now + RECHECK_SECONDS
                self._dispatch(self._batch(recheck=True))

    async def read(self) -> None:
        """Read what committed after the cursor, and hand it to the subscribers."""
        async with self._lock:
            if not self.subscribers:
                self._cursor = None  # nobody listens: start again from the end when someone does
                self._notified.clear()
                return
            if self._cursor is None:
                await self._start_at_end()
            while True:
                assert self._cursor is not None
                async with self.sessions() as session:
                    rows = await events.committed_after(session, self._cursor, PAGE)
                self.reads += 1
                if not rows:
                    break
                self._cursor = rows[-1].id
                self._principals_changed(rows)
                for row in rows:
                    self._notified.pop(row.id, None)
                found = [event for row in rows for event in events.events_of(row)]
                if found:
                    actions = {row.id: row.action for row in rows}
                    self._dispatch(self._batch(events=found, actions=actions))
                if len(rows) < PAGE:
                    break
            now = time.monotonic()
            for event_id, forget_at in list(self._notified.items()):
                if forget_at <= now:
                    del self._notified[event_id]
            self._retry = min(self._retry * 2, self.poll_seconds) if self._notified else RETRY_SECONDS

    async def _start_at_end(self) -> None:
        """Follow the log from its end. What committed while nobody followed it was not read:
        every principal read before now may be out of date."""
        self._cursor = await self._end_of_log()
        self.epoch += 1
        self._changed_everyone = (self.epoch, time.monotonic())

    def _principals_changed(self, rows: list[m.AuditEvent]) -> None:
        self.epoch += 1
        now = time.monotonic()
        for row in rows:
            changed = publication.principals_changed(row.action, row.target_type, row.target_id)
            if changed == publication.EVERYONE:
                self._changed_everyone = (self.epoch, now)
            elif changed is not None:
                self._changed_users[changed] = (self.epoch, now)
        forget = now - RECHECK_SECONDS  # a principal read before then is read again anyway
        if self._changed_users and next(iter(self._changed_users.values()))[1] < forget:
            self._changed_users = {u: c for u, c in self._changed_users.items() if c[1] >= forget}

    def principal_stale(self, user_id: int, read_at: tuple[int, float]) -> bool:
        """Whether a principal of `user_id` read at `read_at` (the epoch and the monotonic
        time then) may no longer be the user's."""
        epoch, when = read_at
        return (
            time.monotonic() - when > RECHECK_SECONDS
            or self._changed_everyone[0] > epoch
            or self._changed_users.get(user_id, (0, 0.0))[0] > epoch
        )

    async def _end_of_log(self) -> int:
        """The id of the last event a reader following the log has reached now."""
        async with self.sessions() as session:
            head = await events.log_head(session)
        return head[1] if head is not None else 0

    # -- PostgreSQL: LISTEN/NOTIFY ----------------------------------------------------------------

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        await self._unlisten()
        async with self.sessions() as session:
            schema = (await session.execute(text("SELECT current_schema()"))).scalar_one()
        self._channels = {
            publication.EVENTS_CHANNEL: f"{publication.EVENTS_CHANNEL}:{schema}",
            publication.PROGRESS_CHANNEL: f"{publication.PROGRESS_CHANNEL}:{schema}",
        }
        url = make_url(self.settings.database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(
            url.render_as_string(hide_password=False), timeout=self.settings.db_connect_timeout_seconds
        )
        connection.add_termination_listener(lambda _connection: self.wake())
        for channel in self._channels.values():
            await connection.add_listener(channel, self._notification)
        self._listener = connection
        self.wake()  # what committed while nobody listened
        log.info("listening for events on %s", self._channels[publication.EVENTS_CHANNEL])

    async def _unlisten(self) -> None:
        connection, self._listener = self._listener, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    def _notification(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == self._channels.get(publication.PROGRESS_CHANNEL):
            with contextlib.suppress(ValueError, TypeError):
                self._progress_known(ImportProgress(**json.loads(payload)))
            return
        with contextlib.suppress(ValueError):
            self._notified[int(payload)] = time.monotonic() + FORGET_NOTIFIED_SECONDS
        self._retry = RETRY_SECONDS
        self._woken.set()

    # -- import progress --------------------------------------------------------------------------

    def report_progress(self, report: ImportProgress) -> None:
        """An import of this process reports: to every process (PostgreSQL), or to this one.
        Never raises: progress is a courtesy that never fails the import."""
        try:
            if self.postgresql and self._listener is not None and not self._listener.is_closed():
                task = asyncio.get_running_loop().create_task(self._send_progress(report))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            else:
                self._progress_known(report)
        except Exception:
            log.exception("import progress not published")

    async def _send_progress(self, report: ImportProgress) -> None:
        channel = self._channels[publication.PROGRESS_CHANNEL]
        try:
            async with self._listener_lock:  # in order, one statement at a time on the connection
                assert self._listener is not None
                await self._listener.execute(
                    "SELECT pg_notify($1, $2)", channel, json.dumps(report.as_json())
                )
        except Exception as exc:
            log.warning("import progress told to this process only: %s", exc.__class__.__name__)
            self._progress_known(report)

    def _progress_known(self, report: ImportProgress) -> None:
        now = time.monotonic()
        self._recent[report.import_id] = (now, report)
        self._recent.move_to_end(report.import_id)
        while self._recent and (
            len(self._recent) > RECENT_IMPORTS
            or next(iter(self._recent.values()))[0] < now - RECENT_IMPORT_SECONDS
        ):
            self._recent.popitem(last=False)
        self._dispatch(self._batch(progress=report))


_current: list[Broker] = []


def current() -> Broker | None:
    """This process's broker (started with the application), if any."""
    return _current[-1] if _current else None


def broker_of(request: Any) -> Broker:
    """The broker of the application serving `request`."""
    broker: Broker = request.app.state.broker
    return broker


def import_reporter(
    broker: Broker, import_id: str, user_id: int, errors: list[UserError]
) -> ImportReporter | None:
    """The reporter of a `usersImport` given `importId`; None, and an error in `errors`, for an
    ID that is not one."""
    if not publication.IMPORT_ID.match(import_id):
        errors.append(UserError(["importId"], "INVALID", f"importId: {publication.IMPORT_ID_RULE}."))
        return None
    return ImportReporter(broker, import_id, user_id)


class ImportReporter:
    """A running `usersImport`'s progress (`imports.import_users(progress=...)`), reported through
    the broker under the id its client gave, then its end (`finish`)."""

    def __init__(self, broker: Broker, import_id: str, user_id: int) -> None:
        self.broker = broker
        self.last = ImportProgress(import_id, None, user_id)

    def __call__(self, progress: imports.Progress) -> None:
        self.last = replace(
            self.last,
            business_unit_id=progress.business_unit_id,
            read=progress.read,
            to_write=progress.to_write,
            written=progress.written,
            refused=progress.refused,
        )
        self.broker.report_progress(self.last)

    def finish(self, rows: list[imports.RowOutcome] | None, refused: bool, dry: bool) -> None:
        """The last report: `refused`, the import wrote nothing (its own errors, or an atomic
        import's refused rows); `dry`, it only validated."""
        rows = rows or []
        failed = sum(1 for r in rows if r.errors)
        # an atomic import that refused rows wrote none: none has an action then
        kept = not refused and not dry and (not rows or any(r.action for r in rows))
        self.last = replace(
            self.last,
            read=len(rows) or self.last.read,
            written=sum(1 for r in rows if r.action and not r.errors) if kept else 0,
            refused=failed,
            finished=True,
            succeeded=kept,
        )
        self.broker.report_progress(self.last)
