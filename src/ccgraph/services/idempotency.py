"""Idempotent retries: a mutation sent with an `Idempotency-Key` runs once per caller and key
for 24 hours, and its retries get the first answer back (http.py says which requests, and
which answers are kept).

A key is claimed by inserting its row, in progress, in a transaction of its own committed
before the request runs: the unique key (user, access key, key) lets exactly one claim win,
on any worker. The answer is then kept on the row, or the row is deleted when the request
failed on our side, so that a retry runs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models.idempotency import SESSION, IdempotencyKey

# A claim this old without an answer is taken to have died with its worker (killed in the
# middle of the request): a retry may run. No mutation takes anywhere near this long.
LEASE = timedelta(minutes=10)
ATTEMPTS = 3  # claims that lose to a key released or expiring at the same moment try again


@dataclass(frozen=True, slots=True)
class Caller:
    """Whose keys: a user, through one access key or through a signed-in session (SESSION)."""

    user_id: int
    access_key_id: int = SESSION

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        return cls(principal.user_id, principal.access_key_id or SESSION)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is this request's to run: its answer goes to row `id`."""

    id: int


class Refusal(Enum):
    IN_USE = "IDEMPOTENCY_KEY_IN_USE"  # its first request is still running
    REUSED = "IDEMPOTENCY_KEY_REUSED"  # it was sent with another request


async def claim(
    session: AsyncSession, caller: Caller, key: str, fingerprint: str, box: SecretBox, ttl: timedelta
) -> Claimed | Answer | Refusal:
    """Claim `key` for a request whose fingerprint is `fingerprint`, or say why not: the key
    answered that request already (the Answer), or it is another request's. Keys older than
    `ttl` are treated as absent."""
    t = IdempotencyKey
    mine = (t.user_id == caller.user_id, t.access_key_id == caller.access_key_id, t.key == key)
    for _ in range(ATTEMPTS):
        now = utcnow()
        await begin_write(session)
        # Expired keys are treated as absent: each claim purges them (a range of an index).
        await session.execute(delete(t).where(t.created_at < now - ttl))
        await session.execute(
            delete(t).where(
                *mine, t.fingerprint == fingerprint, t.completed_at.is_(None), t.created_at < now - LEASE
            )
        )
        try:
            claimed = await session.scalar(
                insert(t)
                .values(
                    user_id=caller.user_id,
                    access_key_id=caller.access_key_id,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                )
                .returning(t.id)
            )
            await session.commit()
            assert claimed is not None
            return Claimed(claimed)
        except IntegrityError:
            await session.rollback()
        found = (
            await session.execute(
                select(t.fingerprint, t.completed_at, t.status, t.content_type, t.body).where(*mine)
            )
        ).one_or_none()
        await session.rollback()
        if found is None:
            continue  # released (or expired) since: claim it again
        if found.fingerprint != fingerprint:
            return Refusal.REUSED
        if found.completed_at is None:
            return Refusal.IN_USE
        return Answer(found.status, found.content_type, _opened(box, found.body))
    return Refusal.IN_USE


async def complete(session: AsyncSession, claimed: Claimed, answer: Answer, box: SecretBox) -> None:
    """Keep the answer for the retries. It is sealed with CCGRAPH_SECRET_KEY: an answer may
    carry a secret shown once (an access key's), which is otherwise never stored."""
    t = IdempotencyKey
    await begin_write(session)
    await session.execute(
        update(t)
        .where(t.id == claimed.id, t.completed_at.is_(None))
        .values(
            completed_at=utcnow(),
            status=answer.status,
            content_type=answer.content_type,
            body=box.seal(answer.body.decode("latin-1")),  # any bytes, back unchanged
        )
    )
    await session.commit()


async def release(session: AsyncSession, claimed: Claimed) -> None:
    """Give the key up: its request failed on our side, and a retry should run it."""
    t = IdempotencyKey
    await begin_write(session)
    await session.execute(delete(t).where(t.id == claimed.id, t.completed_at.is_(None)))
    await session.commit()


def _opened(box: SecretBox, sealed: str | None) -> bytes:
    body = box.open(sealed or "")
    if body is None:
        raise RuntimeError("a kept answer does not open: was CCGRAPH_SECRET_KEY changed?")
    return body.encode("latin-1")
