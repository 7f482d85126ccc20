"""One cell of a users file, read and written. References are by name (team, user profile,
security profiles...), lists are separated by ";", per-channel numbers and skills are written
"NAME=number" ("VOICE=30;CHAT=20", "English=1;Spanish=7"). Each kind of column has a parser
of its own, chosen from `PARSERS`."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.enums import AccessMode, Channel, DeliveryMode, PhoneType
from ccgraph.services.auth import normalize_username
from ccgraph.services.bulk.columns import NAMED, NAMED_LISTS, VERSION

LIST_SEPARATOR = ";"
ENUMS = {"access_mode": AccessMode, "phone_type": PhoneType, "osh_delivery_mode": DeliveryMode}
# How a column's text becomes a value, and back; a column not listed holds text.
TEXT, INT, BOOL, ENUM, CHANNELS, LIST = "text", "int", "bool", "enum", "channels", "list"
REFERENCE, REFERENCES, SKILLS = "reference", "references", "skills"
KINDS = {
    "capacity": INT,
    VERSION: INT,
    "agent_voice_threshold": INT,
    "concurrent_chats": INT,
    "auto_parked_emails": INT,
    "osh_total_contact_count": INT,
    "auto_accept_calls": BOOL,
    "suppress_ringing": BOOL,
    "request_contact": BOOL,
    "max_release_preview": BOOL,
    "wfm_notify_email": BOOL,
    "wfm_notify_sms": BOOL,
    "wfm_notify_in_app": BOOL,
    "refusal_timeouts": CHANNELS,
    "osh_max_contacts": CHANNELS,
    "wfo_phones": LIST,
    **dict.fromkeys(ENUMS, ENUM),
    **dict.fromkeys(NAMED, REFERENCE),
    **dict.fromkeys(NAMED_LISTS, REFERENCES),
    "skills": SKILLS,
}
# The objects a file names, with the attribute that is their name.
NAMED_MODELS: list[tuple[Any, str]] = (
    [(model, attr) for _, model, attr in NAMED.values()]
    + [(model, "name") for _, model in NAMED_LISTS.values()]
    + [(m.Skill, "name")]
)


class Names:
    """The names of a unit's objects, to turn file text into IDs and IDs into file text: one
    statement per kind."""

    def __init__(self) -> None:
        self.by_id: dict[Any, dict[int, str]] = {}
        self.by_name: dict[Any, dict[str, int]] = {}

    async def load(self, session: AsyncSession, unit_id: int) -> None:
        for model, attr in NAMED_MODELS:
            rows = await session.execute(
                select(getattr(model, attr), model.id).where(model.business_unit_id == unit_id)
            )
            pairs = rows.all()
            self.by_id[model] = {ref: name for name, ref in pairs}
            self.by_name[model] = {str(name).lower(): ref for name, ref in pairs}

    def id_of(self, model: Any, name: str) -> int | None:
        return self.by_name[model].get(name.strip().lower())


def parse(column: str, text: str, names: Names) -> Any:
    """The value of one cell; raises ValueError with what is wrong."""
    return PARSERS[KINDS.get(column, TEXT)](column, text.strip(), names)


def written(column: str, value: Any) -> Any:
    """A value as its cell shows it."""
    kind = KINDS.get(column, TEXT)
    if value is None:
        return ""
    if kind == BOOL:
        return "true" if value else "false"
    if kind == CHANNELS:
        return LIST_SEPARATOR.join(f"{k}={v}" for k, v in sorted(value.items()))
    if kind == LIST:
        return LIST_SEPARATOR.join(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _parts(text: str) -> Iterator[str]:
    return filter(None, (p.strip() for p in text.split(LIST_SEPARATOR)))


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a whole number") from None


def _text(column: str, text: str, names: Names) -> str | None:
    return text or None


def _whole(column: str, text: str, names: Names) -> int | None:
    return _int(text) if text else None


def _yes_no(column: str, text: str, names: Names) -> bool:
    lowered = text.lower()
    if not text or lowered in ("false", "no", "0", "n"):
        return False
    if lowered in ("true", "yes", "1", "y"):
        return True
    raise ValueError("must be true or false")


def _choice(column: str, text: str, names: Names) -> enum.Enum | None:
    if not text:
        return None
    try:
        return ENUMS[column](text.upper())
    except ValueError:
        raise ValueError(f"must be one of {', '.join(e.value for e in ENUMS[column])}") from None


def _per_channel(column: str, text: str, names: Names) -> dict[str, int]:
    values = {}
    for part in _parts(text):
        channel, _, number = part.partition("=")
        if channel.strip().upper() not in Channel.__members__:
            raise ValueError(f"{channel!r} is not a channel ({', '.join(Channel.__members__)})")
        values[channel.strip().upper()] = _int(number)
    return values


def _strings(column: str, text: str, names: Names) -> list[str]:
    return list(_parts(text))


def _reference(column: str, text: str, names: Names) -> int | None:
    if not text:
        return None
    header, model, _ = NAMED[column]
    found = names.id_of(model, text if model is not m.User else normalize_username(text))
    if found is None:
        raise ValueError(f"no {header} named {text!r} in the business unit")
    return found


def _references(column: str, text: str, names: Names) -> list[int]:
    header, model = NAMED_LISTS[column]
    ids = []
    for part in _parts(text):
        found = names.id_of(model, part)
        if found is None:
            raise ValueError(f"no {header[:-1]} named {part!r} in the business unit")
        ids.append(found)
    return ids


def _skills(column: str, text: str, names: Names) -> list[tuple[int, int]]:
    pairs = []
    for part in _parts(text):
        name, _, level = part.rpartition("=")
        found = names.id_of(m.Skill, name)
        if not name or found is None:
            raise ValueError(f"no skill named {name or part!r} in the business unit (write Name=proficiency)")
        pairs.append((found, _int(level)))
    return pairs


PARSERS: dict[str, Callable[[str, str, Names], Any]] = {
    TEXT: _text,
    INT: _whole,
    BOOL: _yes_no,
    ENUM: _choice,
    CHANNELS: _per_channel,
    LIST: _strings,
    REFERENCE: _reference,
    REFERENCES: _references,
    SKILLS: _skills,
}
