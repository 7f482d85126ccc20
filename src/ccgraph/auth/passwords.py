"""argon2id password hashing. Hashing is CPU-bound, so it runs in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ccgraph.config import Settings


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._bulk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ccgraph-bulk-hash")
        # Verifying against this when a username is unknown keeps the timing alike.
        self._dummy_hash = self._hasher.hash("ccgraph-dummy-password")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def hash_many(self, passwords: Sequence[str]) -> list[str]:
        """A batch's hashes (a bulk create), one at a time in a thread of their own: a thousand
        new users take one core and never queue ahead of a sign-in's verification."""
        loop = asyncio.get_running_loop()
        return [await loop.run_in_executor(self._bulk, self._hasher.hash, p) for p in passwords]

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> Verification:
        try:
            self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return Verification(ok=False)
        if password_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(password_hash))
