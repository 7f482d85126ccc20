"""Per-request context: who is calling, the request's database session, and its loaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.config import Settings

if TYPE_CHECKING:
    from ccgraph.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response
    settings: Settings
    passwords: Passwords
    sessions: async_sessionmaker[AsyncSession]
    principal: Principal | None
    request_id: str
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

    async def close(self) -> None:
        # Taking the lock waits for a loader that is still using the session.
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from ccgraph.loaders import Loaders

            self._loaders = Loaders(self.db)
        return self._loaders
