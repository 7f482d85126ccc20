"""The store of automatic persisted queries: documents under their SHA-256, shared by every
worker through the database, bounded so that nobody can fill it."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db.engine import begin_write
from ccgraph.db.models import PersistedQuery


async def find(session: AsyncSession, sha256: str) -> str | None:
    document = await session.scalar(select(PersistedQuery.document).where(PersistedQuery.sha256 == sha256))
    await session.rollback()
    return document


async def keep(session: AsyncSession, sha256: str, document: str, limit: int) -> None:
    """Keep a document (once: a second worker keeping the same one is no error); beyond
    `limit` documents the oldest go, as a cache's would."""
    await begin_write(session)
    try:
        session.add(PersistedQuery(sha256=sha256, document=document))
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return
    count = await session.scalar(select(func.count()).select_from(PersistedQuery))
    if count is not None and count > limit:
        oldest = select(PersistedQuery.sha256).order_by(PersistedQuery.created_at).limit(count - limit)
        await session.execute(
            delete(PersistedQuery).where(PersistedQuery.sha256.in_(oldest.scalar_subquery()))
        )
    await session.commit()
