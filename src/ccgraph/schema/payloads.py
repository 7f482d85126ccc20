"""Payloads shared by every domain, and what every write payload can tell: the changes."""

from __future__ import annotations

import re
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from ccgraph.schema.errors import UserError
from ccgraph.services.users.fields import BY_COLUMN, COLLECTIONS, camel
from ccgraph.services.writes import Outcome

# A reference column's stem that is not the name of the type it refers to.
REFERENCES = {"manager": "User", "default_presence": "PresenceStatus", "source_user": "User"}
_REFERENCE = re.compile(r"^(?P<stem>.+)_ids?$")


@strawberry.type(
    description="One field that a mutation changes, or with `validateOnly` would change: its value "
    "before and after, for a review step. Fields are named as in the mutation's input (a path into "
    "it); references are global IDs."
)
class FieldChange:
    field: list[str] = strawberry.field(description='Path to the input field, e.g. ["contact", "email"].')
    before: JSON | None = strawberry.field(description="The value before; null when there was none.")
    after: JSON | None = strawberry.field(description="The value after; null when there is none.")


USER_ERRORS = "What is wrong with the input, each at its field; empty when the mutation succeeded."
RESULT = "The object as the mutation left it (with `validateOnly`: as it would be); null when it was refused."


def payload_description(kind: str) -> str:
    return f"The result of a mutation of a {kind}: the {kind}, what changed, and any errors."


def changes_field() -> Any:
    return strawberry.field(
        default_factory=list,
        description="What changed on the returned object (with `validateOnly`: what would change); "
        "empty when nothing did or the call was refused.",
    )


def _named(key: str) -> tuple[list[str], str | None]:
    """An audited field's input path, and the type it refers to when it is a reference."""
    if key in BY_COLUMN:
        path = BY_COLUMN[key].api_path
    elif key in COLLECTIONS:
        path = COLLECTIONS[key]
    else:
        path = [camel(key)]
    found = _REFERENCE.match(key)
    if found is None:
        return path, None
    stem = found["stem"]
    return path, REFERENCES.get(stem, camel(stem)[:1].upper() + camel(stem)[1:])


def _value(value: Any, type_name: str | None, key: str) -> Any:
    if value is None:
        return None
    if key == "skills":  # [[skill id, proficiency], ...]
        return [{"skillId": str(relay.GlobalID("Skill", str(s))), "proficiency": p} for s, p in value]
    if type_name is None:
        return value
    if isinstance(value, list):
        return [str(relay.GlobalID(type_name, str(v))) for v in value]
    return str(relay.GlobalID(type_name, str(value)))


def field_changes(outcome: Outcome[Any], target_type: str, target_id: int | None) -> list[FieldChange]:
    """The outcome's changes to one object, in the API's own terms."""
    return as_field_changes(outcome.changes_of(target_type, target_id))


def as_field_changes(changes: dict[str, Any]) -> list[FieldChange]:
    """Audited changes ({column: {before, after}}) in the API's own terms."""
    found = []
    for key, change in sorted(changes.items()):
        path, type_name = _named(key)
        found.append(
            FieldChange(
                field=path,
                before=cast(JSON, _value(change.get("before"), type_name, key)),
                after=cast(JSON, _value(change.get("after"), type_name, key)),
            )
        )
    return found


@strawberry.type(description="The result of a delete: the deleted object's ID, or the errors.")
class DeletePayload:
    deleted_id: relay.GlobalID | None = strawberry.field(
        description="The global ID of the deleted object (with `validateOnly`: that would be); "
        "null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()
