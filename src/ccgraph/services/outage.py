"""What a database that cannot be reached looks like, for both drivers: such a request is
answered SERVICE_UNAVAILABLE (503), not masked as a fault of ours. A locked SQLite file is
not an outage (DATABASE_BUSY)."""

from __future__ import annotations

import asyncio

from sqlalchemy import exc

UNREACHABLE = (OSError, asyncio.TimeoutError, exc.InterfaceError, exc.TimeoutError)


def unreachable(error: BaseException) -> bool:
    if isinstance(error, exc.OperationalError):
        return "locked" not in str(error)
    if isinstance(error, exc.DBAPIError) and isinstance(error.orig, UNREACHABLE):
        return True
    return isinstance(error, UNREACHABLE)
