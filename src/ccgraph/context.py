"""Per-request context: who is calling, the request's database session, and its loaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.db.engine import DRY_RUN, carry_write_gate
from ccgraph.services.writes import KEEP_CHANGES, Actor

if TYPE_CHECKING:
    from ccgraph.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response
    settings: Settings
    passwords: Passwords
    box: SecretBox
    sessions: async_sessionmaker[AsyncSession]
    principal: Principal | None
    request_id: str
    write_gate: AbstractAsyncContextManager[Any] = field(default_factory=contextlib.nullcontext)
    signed_in_as: int | None = None  # the user a `login` in this request signed in
    # One HTTP request's own context, which runs one operation (not a WebSocket's, shared by
    # its operations): only such a context reads rows without what its operation never shows.
    per_request: bool = False
    unread: Mapping[Any, frozenset[str]] = field(default_factory=dict)
    _session: AsyncSession | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's one session, one user at a time.

        GraphQL resolves sibling fields concurrently and an AsyncSession must not be shared by
        concurrent tasks, so every use goes through this lock.
        """
        async with self._lock:
            if self._session is None:
                self._session = self.sessions()
            yield self._session

    @asynccontextmanager
    async def write(self, *, dry: bool = False, changes: bool = False) -> AsyncIterator[AsyncSession]:
        """The session for a write. On SQLite it carries the process's write gate, which
        `begin_write` takes for the write transaction alone: a waiting writer queues there
        instead of spinning on the database lock while the event loop serves others, and
        reading a file, checking rows or hashing passwords happen before it. Afterwards the
        loaders start afresh, since what they cached before the write may no longer be true.

        `dry` (the mutation was given `validateOnly: true`) marks the session so that nothing in
        it can commit: every write in it is rolled back. `changes` keeps what the write changes
        for the payload (see `services.writes.note_change`)."""
        async with self.db() as session:
            if isinstance(self.write_gate, asyncio.Lock):
                carry_write_gate(session, self.write_gate)
            session.info[DRY_RUN] = dry
            session.info[KEEP_CHANGES] = changes
            try:
                yield session
            finally:
                session.info.pop(DRY_RUN, None)
                session.info.pop(KEEP_CHANGES, None)
        self._loaders = None

    @property
    def viewer_id(self) -> int | None:
        """Who reads as themselves: the caller, or the user this request signed in."""
        return self.principal.user_id if self.principal is not None else self.signed_in_as

    @property
    def actor(self) -> Actor:
        if self.principal is None:
            raise RuntimeError("a write needs a signed-in principal")
        return Actor(self.principal, self.request_id)

    async def close(self) -> None:
        # Taking the lock waits for a loader that is still using the session.
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
        if self._loaders is not None:
            self._loaders.release()
            self._loaders = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from ccgraph.loaders import Loaders

            self._loaders = Loaders(self.db, batch=self.settings.dataloaders, unread=self.unread)
        return self._loaders

    def leave_unread(self, unread: Mapping[Any, frozenset[str]]) -> None:
        """Per model, the columns that no field of the operation about to run shows
        (execution.columns): its loaders and pages read rows without them. Taken by a request's
        own context before anything is read, else ignored (every column is read)."""
        if self.per_request and self._loaders is None:
            self.unread = unread
