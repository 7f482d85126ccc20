"""The subscriptions' own types: their arguments, the end of a sign-in, an import's progress.
The events they push are the `events` feed's (`schema/events.py`)."""

from __future__ import annotations

import enum

import strawberry
from strawberry import relay

from ccgraph.schema.enums import described
from ccgraph.services.events import CATALOG_TYPES, EventType
from ccgraph.services.publication import ImportProgress as Progress

CatalogKind = enum.Enum(  # type: ignore[misc]  # one member a catalog type: QUEUE = "Queue"...
    "CatalogKind",
    {"".join(("_" + c if c.isupper() else c.upper()) for c in t).lstrip("_"): t for t in CATALOG_TYPES},
)
described(
    CatalogKind,
    "A kind of catalog object, as `catalogChanged` follows them.",
    {
        kind: f"{kind.value[0]}{''.join(' ' + c.lower() if c.isupper() else c for c in kind.value[1:])}s."
        for kind in CatalogKind
    },  # fmt: skip
)


@strawberry.input(description="Which user changes to follow; every field narrows (empty: all you may see).")
class UserChangedFilter:
    user_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Only these users (at most 100)."
    )
    types: list[EventType] | None = strawberry.field(
        default=None, description="Only these kinds of change (user events: `USER_...`)."
    )
    business_unit_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Only users of these business units."
    )


class SessionEndReason(enum.Enum):
    SESSION_REVOKED = "SESSION_REVOKED"
    PASSWORD_RESET = "PASSWORD_RESET"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    USER_DISABLED = "USER_DISABLED"
    USER_DELETED = "USER_DELETED"
    EXPIRED = "EXPIRED"
    ACCESS_KEY_REVOKED = "ACCESS_KEY_REVOKED"


described(
    SessionEndReason,
    "Why the credentials a socket signed in with no longer sign in.",
    {
        SessionEndReason.SESSION_REVOKED: "The session was revoked (by the user, or by an administrator).",
        SessionEndReason.PASSWORD_RESET: "An administrator reset the user's password: every session ended.",
        SessionEndReason.PASSWORD_CHANGED: "The user changed their password in another session.",
        SessionEndReason.USER_DISABLED: "The user was disabled.",
        SessionEndReason.USER_DELETED: "The user was deleted.",
        SessionEndReason.EXPIRED: "The session, token or access key expired.",
        SessionEndReason.ACCESS_KEY_REVOKED: "The access key was deactivated or deleted.",
    },
)


@strawberry.type(
    description="The credentials this socket signed in with no longer sign in; the server closes the "
    "socket (code 4401) right after."
)
class ViewerSessionEnded:
    reason: SessionEndReason = strawberry.field(description="Why.")
    code: str = strawberry.field(
        description="The reason as an HTTP request with these credentials would now be refused "
        "(`extensions.reason` of UNAUTHENTICATED: `TOKEN_REVOKED`, `USER_DISABLED`...)."
    )
    event_id: strawberry.ID | None = strawberry.field(
        description="The event that ended it (as in the `events` feed); null when none did "
        "(the session expired, or was signed out)."
    )


@strawberry.type(
    description="Where a running `usersImport` stands. Rows are written in one transaction that "
    "commits at the end: `written` counts what it wrote so far, `succeeded` says whether it was kept."
)
class ImportProgress:
    import_id: str = strawberry.field(description="The `importId` the import was given.")
    rows_read: int = strawberry.field(description="The file's rows (without the header).")
    rows_to_write: int = strawberry.field(
        description="The rows it goes on to write once the file is read (the rows refused as they are "
        "checked included)."
    )
    rows_written: int = strawberry.field(description="The rows written so far.")
    rows_refused: int = strawberry.field(description="The rows refused so far (each with its errors).")
    finished: bool = strawberry.field(description="True for the last report: the import is over.")
    succeeded: bool | None = strawberry.field(
        description="Once finished: whether its rows were kept (false when it was refused, or ran with "
        "`validateOnly`); null while it runs."
    )

    @classmethod
    def of(cls, report: Progress) -> ImportProgress:
        return cls(
            import_id=report.import_id,
            rows_read=report.read,
            rows_to_write=report.to_write,
            rows_written=report.written,
            rows_refused=report.refused,
            finished=report.finished,
            succeeded=report.succeeded,
        )
