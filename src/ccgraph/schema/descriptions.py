"""Description texts that inputs of several domains share (a leaf module: anything may import it)."""

from typing import Any

VALIDATE = "Check everything; write nothing."
UPDATE = "Change only what is given; `version` must be the one last read."
VERSION = "The version last read; a stale one is a CONFLICT and nothing is applied."
NAME_TEXT = "Its name, unique in its business unit (case aside)."
DESCRIPTION_TEXT = "A free text for administrators; empty when none was given."
UPDATED_AT = (
    "When it was created or last changed: its fields, or the lists that are its own (a user profile's "
    "queues); not its users, who tell their own `updatedAt`."
)
# `externalId` of a user or a team: "{what}" is the object.
EXTERNAL_ID = (
    "The identifier the identity provider that provisions this {what} over SCIM gave it; "
    "set only through SCIM."
)

# Arguments that many fields take, described once (`describe_arguments` gives each argument
# without a description of its own the text for its name).
ARGUMENTS = {
    "input": "What the mutation needs; its type describes each field.",
    "search": "Only those whose name contains this text (ignoring case); users: their username, "
    "first or last name, or email.",
    "filter": "Only those that meet every condition given.",
    "orderBy": "The order of the list; ties are broken by ID, so pages never overlap.",
    "id": "A global ID.",
    "format": "The file format.",
    "businessUnitId": "The business unit, by global ID; by default the caller's own.",
    "notAssignedToUserId": "Only skills this user does not have yet (the 'Add Skills' picker).",
}


def describe_arguments(schema: Any) -> None:
    """Give every argument that has no description of its own the shared text for its name."""
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not hasattr(type_, "fields") or hasattr(type_, "is_one_of"):
            continue
        for field in type_.fields.values():
            for name, argument in getattr(field, "args", {}).items():
                if not argument.description and name in ARGUMENTS:
                    argument.description = ARGUMENTS[name]
