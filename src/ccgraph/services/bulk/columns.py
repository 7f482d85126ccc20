"""The columns of a users file: their headers (custom fields under the unit's labels), the
user column or collection each header stands for, where a service error's input path lands,
and which columns a reader may see in an export."""

from __future__ import annotations

from typing import Any

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.services import authority
from ccgraph.services.errors import UserError
from ccgraph.services.users.fields import FILE_FIELDS

# Columns that name another object instead of holding an ID: column -> (header, model, name attribute).
NAMED = {
    "team_id": ("team", m.Team, "name"),
    "manager_id": ("manager", m.User, "username"),
    "user_profile_id": ("userProfile", m.UserProfile, "name"),
    "default_presence_id": ("defaultPresence", m.PresenceStatus, "name"),
}
NAMED_LISTS = {
    "security_profile_ids": ("securityProfiles", m.SecurityProfile),
    "queue_ids": ("queues", m.Queue),
    "work_stream_ids": ("workStreams", m.WorkStream),
}
VERSION = "version"
# What each column holds, in the order of `headers`: a user column or a collection key.
COLUMNS = [f.column for f in FILE_FIELDS] + list(NAMED_LISTS) + ["skills", VERSION]


def headers(unit: m.BusinessUnit) -> list[str]:
    """The columns, in order; custom fields under the unit's labels."""
    labels = unit.custom_field_labels()
    out = []
    for f in FILE_FIELDS:
        if f.column.startswith("custom_"):
            out.append(labels[int(f.column[-1]) - 1])
        elif f.column in NAMED:
            out.append(NAMED[f.column][0])
        else:
            out.append(".".join(f.api_path))
    return out + [h for h, _ in NAMED_LISTS.values()] + ["skills", VERSION]


def by_header(unit: m.BusinessUnit) -> dict[str, str]:
    """header -> user column (or collection key)."""
    return dict(zip(headers(unit), COLUMNS, strict=True))


def headers_by_path(unit: m.BusinessUnit) -> dict[str, str]:
    """An input path ("contact.mainPhone") -> the header of its column."""
    out = {".".join(f.api_path): header for f, header in zip(FILE_FIELDS, headers(unit), strict=False)}
    return out | {
        "securityProfileIds": "securityProfiles",
        "queueIds": "queues",
        "workStreamIds": "workStreams",
        "skills": "skills",
        "version": VERSION,
        "id": "username",
    }


def column_of(error: UserError, by_path: dict[str, str]) -> str | None:
    """The file column a service error's input path points at."""
    if not error.field:
        return None
    path = error.field
    key = ".".join(path)
    for candidate in (key, ".".join(path[:2]), path[0]):
        if candidate in by_path:
            return by_path[candidate]
    return path[0]


# Columns that name objects of a guarded kind, with the model whose read permission they need.
NAMING = (
    {column: model for column, (_, model, _) in NAMED.items()}
    | {column: model for column, (_, model) in NAMED_LISTS.items()}
    | {"skills": m.Skill}
)


def readable(
    principal: Principal, header: list[str], rows: list[list[Any]]
) -> tuple[list[str], list[list[Any]]]:
    """The export without the columns that name objects the reader may not see (a team's name
    needs TEAMS_VIEW as `User.team` does); importing it back leaves those columns as they are."""
    keep = [
        i
        for i, column in enumerate(COLUMNS)
        if column not in NAMING or authority.readable(principal, authority.READ[NAMING[column]])
    ]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
