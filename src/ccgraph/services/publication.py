"""Publication after commit: a transaction that recorded audit events (the event log, see
`services.events`) tells every process's broker (`ccgraph.live`) once it has committed, and
never when it rolls back or only validates.

Whatever commits it (`writes.run_write`, a SCIM request, the command line), the rule is kept in
one place, the session's own transaction events:

- On PostgreSQL the transaction itself runs `pg_notify(<channel>, '<its last event id>')` just
  before it commits. PostgreSQL delivers a notification only when its transaction commits, and
  drops it when it rolls back, to every process listening on the database: every worker, on
  every machine. The channel is `ccgraph_events:<schema>` (the schema the tables are in), so
  that deployments sharing a database in schemas of their own do not wake each other.
- On SQLite the process's own broker is woken once the commit has returned; another process on
  the same file finds the events at its broker's next poll.

A running import's progress is not an event (nothing is committed yet): the import reports it
to its process's broker, which passes it on to every process itself (`ImportProgress`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from ccgraph.auth.principal import Principal
from ccgraph.enums import Permission
from ccgraph.services import authority
from ccgraph.services.scope import can_see

log = logging.getLogger("ccgraph.live")

EVENTS_CHANNEL = "ccgraph_events"
PROGRESS_CHANNEL = "ccgraph_progress"
# The channels' names in SQL: the base name and the schema the tables are in.
CHANNEL_SQL = "'{base}:' || current_schema()"
AUDITED = "ccgraph_audited"  # session.info: this transaction recorded audit events

_NOTIFY = text(
    "SELECT pg_notify("
    + CHANNEL_SQL.format(base=EVENTS_CHANNEL)
    + ", currval(pg_get_serial_sequence('audit_events', 'id'))::text)"
)

# This process's listeners, told after a commit that recorded events (SQLite): its brokers.
_committed: list[Callable[[], None]] = []


def audited(session: Any) -> None:
    """The session's transaction recorded audit events: publish them when it commits."""
    session.info[AUDITED] = True


def on_commit(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` after each commit that recorded events (SQLite); returns its removal."""
    _committed.append(listener)
    return lambda: _committed.remove(listener)


@event.listens_for(Session, "before_commit")
def _notify(session: Session) -> None:
    if not session.info.get(AUDITED) or session.get_bind().dialect.name != "postgresql":
        return
    session.flush()  # rows still pending take their ids from the sequence now
    session.execute(_NOTIFY)


@event.listens_for(Session, "after_commit")
def _committed_now(session: Session) -> None:
    if not session.info.pop(AUDITED, False) or session.get_bind().dialect.name == "postgresql":
        return
    for listener in list(_committed):
        try:
            listener()
        except Exception:  # a broker's trouble never fails a write that has committed
            log.exception("a broker could not be woken")


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back, or committed (and published above)
        session.info.pop(AUDITED, None)


# -- a running import's progress ----------------------------------------------------------------


# A running import's ID, chosen by its client (to subscribe to its progress before sending it).
IMPORT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
IMPORT_ID_RULE = "1 to 64 letters, digits or . _ : -"


EVERYONE = -1  # principals_changed: anyone's


# The kinds of object whose changes never change who a caller is or what they may do.
_NOT_PRINCIPALS = frozenset(
    {"team", "queue", "workStream", "presenceStatus", "userProfile", "skill", "businessUnit", "webhook"}
)


def principals_changed(action: str, target_type: str, target_id: int | None) -> int | None:
    """Whose signed-in principal (credentials, permissions, unit) an audited change may have
    changed: the user it is about (their sessions, password, profiles, being disabled or
    deleted), EVERYONE (a security profile's permissions, an access key: their holders are not
    in the row), or None. What this does not know of counts as EVERYONE."""
    if target_type == "User":
        return target_id
    if action.split(".")[0] in _NOT_PRINCIPALS:
        return None
    return EVERYONE


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where a running `usersImport` stands. `written` counts rows written in its transaction,
    which commits at the end (`finished`, then `succeeded` says whether anything was kept)."""

    import_id: str
    business_unit_id: int | None  # null until the file has been read and its unit decided
    user_id: int  # who runs it
    read: int = 0  # the file's rows
    to_write: int = 0  # the rows to write once the file is checked
    written: int = 0
    refused: int = 0
    finished: bool = False
    succeeded: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def may_watch(principal: Principal | None, report: ImportProgress) -> bool:
    """Who is told how an import goes: the user running it, and whoever reads the users of its
    business unit (as they will read the users it writes)."""
    if principal is None:
        return False
    if principal.user_id == report.user_id:
        return True
    return (
        report.business_unit_id is not None
        and can_see(principal, report.business_unit_id)
        and authority.readable(principal, Permission.USERS_VIEW)
    )
