"""What every outbox shares (mail, webhook deliveries): a row is due at `next_attempt_at`; a
sender claims due rows with a lease, so that two senders (one per worker) never try the same row
at once, and a row that failed waits an exponential backoff before its next try."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db.engine import begin_write

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=5)

R = TypeVar("R")


def backoff(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failed try: 5 s, 10 s, 20 s... at most 1 h."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


async def claim(
    session: AsyncSession,
    model: type[R],
    *conditions: ColumnElement[bool],
    batch: int,
    now: datetime,
    lease: timedelta = LEASE,
) -> list[R]:
    """Take up to `batch` rows of `model` that are due at `now` and meet `conditions`, oldest due
    first, in one committed transaction: each is counted as tried once more and given a lease
    (not due again until `now + lease`), so that a sender that dies holding it only delays it.
    FOR UPDATE SKIP LOCKED (where the database has it) lets concurrent senders take other rows."""
    table: Any = model
    await begin_write(session)
    rows = list(
        (
            await session.execute(
                select(model)
                .where(table.next_attempt_at <= now, *conditions)
                .order_by(table.next_attempt_at, table.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for row in rows:
        leased: Any = row
        leased.next_attempt_at = now + lease
        leased.attempts += 1
    await session.commit()
    return rows
