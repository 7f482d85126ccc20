"""Inputs of the create/update mutations of teams, queues, work streams, presence statuses,
user profiles, skills and security profiles. Omitted fields of an update are left as they are;
an update names the version it was made from (`version`), and a stale one is a CONFLICT."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import strawberry
from strawberry import UNSET, relay

from ccgraph.schema.enums import BaseStatus, Channel, Permission
from ccgraph.schema.node import decode
from ccgraph.schema.users.inputs import ChannelValueInput

U = UNSET
VALIDATE = "Check everything; write nothing."
UPDATE = "Change only what is given; `version` must be the one last read."
VERSION = "The version last read; a stale one is a CONFLICT and nothing is applied."


@strawberry.input
class TeamCreateInput:
    name: str
    description: str | None = U
    business_unit_id: relay.GlobalID | None = None
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description=UPDATE)
class TeamUpdateInput:
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U
    description: str | None = U
    validate_only: bool = False


@strawberry.input
class QueueCreateInput(TeamCreateInput):
    pass


@strawberry.input(description=UPDATE)
class QueueUpdateInput(TeamUpdateInput):
    pass


@strawberry.input
class WorkStreamCreateInput:
    name: str
    channel: Channel
    business_unit_id: relay.GlobalID | None = None
    validate_only: bool = False


@strawberry.input(description=UPDATE)
class WorkStreamUpdateInput:
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U
    channel: Channel | None = U
    validate_only: bool = False


@strawberry.input(description="A custom status maps to one of the base statuses.")
class PresenceStatusCreateInput:
    name: str
    base_status: BaseStatus
    business_unit_id: relay.GlobalID | None = None
    validate_only: bool = False


@strawberry.input(description=f"{UPDATE} A base status (isCustom false) keeps its name and base status.")
class PresenceStatusUpdateInput:
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U
    base_status: BaseStatus | None = U
    validate_only: bool = False


@strawberry.input
class UserProfileFields:
    description: str | None = U
    capacity: int | None = U
    default_presence_id: relay.GlobalID | None = U
    queue_ids: list[relay.GlobalID] | None = U
    work_stream_ids: list[relay.GlobalID] | None = U
    channel_concurrency: list[ChannelValueInput] | None = strawberry.field(
        default=U, description="Maximum simultaneous contacts per channel."
    )
    validate_only: bool = False


@strawberry.input
class UserProfileCreateInput(UserProfileFields):
    name: str
    business_unit_id: relay.GlobalID | None = None


@strawberry.input(description=UPDATE)
class UserProfileUpdateInput(UserProfileFields):
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U


@strawberry.input
class SkillFields:
    description: str | None = U
    work_stream_id: relay.GlobalID | None = U
    active: bool | None = U
    validate_only: bool = False


@strawberry.input
class SkillCreateInput(SkillFields):
    name: str
    business_unit_id: relay.GlobalID | None = None


@strawberry.input(description=UPDATE)
class SkillUpdateInput(SkillFields):
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U


@strawberry.input(description="Permissions and password policy; you can grant only permissions you hold.")
class SecurityProfileFields:
    description: str | None = U
    permissions: list[Permission] | None = U
    password_min_length: int | None = U
    password_require_uppercase: bool | None = U
    password_require_lowercase: bool | None = U
    password_require_digit: bool | None = U
    password_require_symbol: bool | None = U
    generate_random_passwords: bool | None = U
    validate_only: bool = False


@strawberry.input
class SecurityProfileCreateInput(SecurityProfileFields):
    name: str
    business_unit_id: relay.GlobalID | None = None


@strawberry.input(description=f"{UPDATE} You can grant only permissions you hold.")
class SecurityProfileUpdateInput(SecurityProfileFields):
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION)
    name: str | None = U


@strawberry.input
class DeleteInput:
    id: relay.GlobalID
    validate_only: bool = False


ID_FIELDS = {
    "default_presence_id": "PresenceStatus",
    "work_stream_id": "WorkStream",
    "queue_ids": "Queue",
    "work_stream_ids": "WorkStream",
}
NOT_VALUES = {"id", "version", "validate_only", "business_unit_id"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(x.title() for x in rest)


def values_of(data: Any, errors: list) -> dict[str, Any]:
    """The column values a catalog input asks for; IDs that are not valid IDs go to `errors`."""
    values: dict[str, Any] = {}
    for f in fields(data):
        value = getattr(data, f.name)
        if f.name in NOT_VALUES or value is UNSET:
            continue
        if f.name.endswith("_ids"):
            value = [
                decode([_camel(f.name), str(i)], x, ID_FIELDS[f.name], errors)
                for i, x in enumerate(value or [])
            ]
        elif f.name in ID_FIELDS and value is not None:
            value = decode([_camel(f.name)], value, ID_FIELDS[f.name], errors)
        elif f.name == "channel_concurrency":
            value = {c.channel.value: c.value for c in value or []}
        elif f.name == "permissions":
            value = [perm.value for perm in value or []]
        values[f.name] = value
    return values
