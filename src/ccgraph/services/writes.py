"""How every write runs: one transaction, all or nothing, optionally only validated."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from ccgraph.auth.principal import Principal
from ccgraph.db.engine import begin_write, is_dry
from ccgraph.services.errors import UserError

T = TypeVar("T")
log = logging.getLogger("ccgraph.writes")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is writing, for permission rules and the audit trail."""

    principal: Principal
    request_id: str | None = None


class Rejected(Exception):
    """Raised inside a use case to abort it with user errors; nothing it did is kept.

    `current` is an object to show the caller anyway (e.g. the current user on CONFLICT).
    """

    def __init__(self, errors: list[UserError], current: Any = None, result: Any = None) -> None:
        super().__init__(errors)
        self.errors = errors
        self.current = current
        self.result = result  # returned as the outcome's value as it is (e.g. per-row results)


CHANGES = "ccgraph_changes"
# Set on a session whose caller reads the changes (a payload selecting `changes`): only then
# are they kept, so that a large import does not hold every row's changes for nobody.
KEEP_CHANGES = "ccgraph_keep_changes"


@dataclass(frozen=True, slots=True)
class Changed:
    """What one write did to one object, as its audit event says: {field: {before, after}}."""

    target_type: str
    target_id: int | None
    changes: dict[str, Any]


def note_change(session: AsyncSession, target: Any, changes: dict[str, Any]) -> None:
    """Keep an audited change for the mutation's answer too (see `Outcome.changes`), when the
    caller asked for it."""
    if not session.info.get(KEEP_CHANGES):
        return
    session.info.setdefault(CHANGES, []).append(
        Changed(type(target).__name__, getattr(target, "id", None), changes)
    )


def recorded(session: AsyncSession) -> list[Changed]:
    """The changes noted since the write began; forgotten once read."""
    return session.info.pop(CHANGES, [])


@dataclass(slots=True)
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[UserError] = field(default_factory=list)
    # What the write did (or, validate-only, would do) to each object, as its audit events say.
    changes: list[Changed] = field(default_factory=list)
    _by_target: dict[tuple[str, int | None], dict[str, Any]] | None = field(default=None, repr=False)

    def changes_of(self, target_type: str, target_id: int | None) -> dict[str, Any]:
        """The changes made to one object, all its events together."""
        if self._by_target is None:
            self._by_target = {}
            for changed in self.changes:
                key = (changed.target_type, changed.target_id)
                self._by_target[key] = self._by_target.get(key, {}) | changed.changes
        return self._by_target.get((target_type, target_id), {})


def conflict(message: str, field_path: list[str] | None = None) -> UserError:
    return UserError(field_path, "CONFLICT", message)


async def run_write(
    session: AsyncSession, work: Callable[[], Awaitable[T]], *, validate_only: bool = False
) -> Outcome[T]:
    """Run `work` in one write transaction.

    On success it commits, or with `validate_only` leaves the transaction open so the payload
    is read from what would have been written; the request rolls it back when it ends. A session
    marked dry for the whole request (a mutation given `validateOnly: true`) is validate-only
    whatever the caller passes.
    """
    validate_only = validate_only or is_dry(session)
    await begin_write(session, dry=validate_only)
    recorded(session)  # nothing left from an earlier write of the request
    try:
        value = await work()
        await session.flush()
        changes = recorded(session)
    except Rejected as rejected:
        recorded(session)
        await session.rollback()
        if rejected.current is not None:
            await session.refresh(rejected.current)
            return Outcome(rejected.current, rejected.errors)
        return Outcome(rejected.result, rejected.errors)
    except (IntegrityError, StaleDataError) as exc:
        # A concurrent write got there first (a unique name taken, a version bumped).
        recorded(session)
        await session.rollback()
        log.info("write refused by the database: %s", exc.__class__.__name__)
        return Outcome(None, [conflict("Another change got there first; read the object and retry.")])
    if not validate_only:
        try:
            await session.commit()
        except (IntegrityError, StaleDataError):
            await session.rollback()
            return Outcome(None, [conflict("Another change got there first; read the object and retry.")])
    return Outcome(value, [], changes)
