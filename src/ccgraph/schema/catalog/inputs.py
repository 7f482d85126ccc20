"""Inputs of the create/update mutations of teams, queues, work streams, presence statuses,
user profiles, skills and security profiles. Omitted fields of an update are left as they are;
an update names the version it was made from (`version`), and a stale one is a CONFLICT."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import strawberry
from strawberry import UNSET, relay

from ccgraph.schema.descriptions import UPDATE, VALIDATE, VERSION
from ccgraph.schema.enums import BaseStatus, Channel, Permission
from ccgraph.schema.node import decode
from ccgraph.schema.users.inputs import ChannelValueInput
from ccgraph.services.catalog import writes as cw

U = UNSET
ID = "The global ID of the object to change."
NAME = f"The name, unique among its kind in the business unit. {cw.NAME.rule}"
NEW_NAME = f"A new name, unique among its kind in the business unit. {cw.NAME.rule}"
DESCRIPTION = f"Free text for administrators. {cw.DESCRIPTION.rule}"
UNIT = "The business unit to create it in; the caller's own when omitted."


def rule(kind: cw.Kind, column: str) -> str:
    """The rule the service checks `column` of `kind` with, as a sentence."""
    check = kind.checks[column]
    assert check is not None, column
    return check.rule


def described(text: str, default: Any = U) -> Any:
    return strawberry.field(default=default, description=text)


def validate_only() -> Any:
    return strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="A new team.")
class TeamCreateInput:
    name: str = strawberry.field(description=NAME)
    description: str | None = described(DESCRIPTION)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)
    validate_only: bool = validate_only()


@strawberry.input(description=UPDATE)
class TeamUpdateInput:
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)
    description: str | None = described(DESCRIPTION)
    validate_only: bool = validate_only()


@strawberry.input(description="A new queue.")
class QueueCreateInput(TeamCreateInput):
    pass


@strawberry.input(description=UPDATE)
class QueueUpdateInput(TeamUpdateInput):
    pass


CHANNEL = "The channel the work stream's work arrives on."


@strawberry.input(description="A new work stream.")
class WorkStreamCreateInput:
    name: str = strawberry.field(description=NAME)
    channel: Channel = strawberry.field(description=CHANNEL)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)
    validate_only: bool = validate_only()


@strawberry.input(description=UPDATE)
class WorkStreamUpdateInput:
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)
    channel: Channel | None = described(CHANNEL)
    validate_only: bool = validate_only()


BASE_STATUS = "The base status it maps to, which decides whether work is offered."


@strawberry.input(description="A custom status maps to one of the base statuses.")
class PresenceStatusCreateInput:
    name: str = strawberry.field(description=NAME)
    base_status: BaseStatus = strawberry.field(description=BASE_STATUS)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)
    validate_only: bool = validate_only()


@strawberry.input(description=f"{UPDATE} A base status (isCustom false) keeps its name and base status.")
class PresenceStatusUpdateInput:
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)
    base_status: BaseStatus | None = described(BASE_STATUS)
    validate_only: bool = validate_only()


@strawberry.input(description="The routing properties of a user profile.")
class UserProfileFields:
    description: str | None = described(DESCRIPTION)
    capacity: int | None = described(
        f"How much work a user may hold at once; null for no limit. {rule(cw.USER_PROFILE, 'capacity')}"
    )
    default_presence_id: relay.GlobalID | None = described(
        "The presence status a user starts in (a PresenceStatus ID of the same unit)."
    )
    queue_ids: list[relay.GlobalID] | None = described(
        "The queues the profile's users take work from (Queue IDs of the same unit); replaces the list."
    )
    work_stream_ids: list[relay.GlobalID] | None = described(
        "The work streams the profile's users handle (WorkStream IDs of the same unit); replaces the list."
    )
    channel_concurrency: list[ChannelValueInput] | None = described(
        "Maximum simultaneous contacts per channel. " + rule(cw.USER_PROFILE, "channel_concurrency")
    )
    validate_only: bool = validate_only()


@strawberry.input(description="A new user profile.")
class UserProfileCreateInput(UserProfileFields):
    name: str = strawberry.field(description=NAME)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)


@strawberry.input(description=UPDATE)
class UserProfileUpdateInput(UserProfileFields):
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)


@strawberry.input(description="The properties of a skill.")
class SkillFields:
    description: str | None = described(DESCRIPTION)
    work_stream_id: relay.GlobalID | None = described(
        "The work stream the skill belongs to (a WorkStream ID of the same unit); null for none."
    )
    active: bool | None = described("Whether the skill can be used in routing.")
    validate_only: bool = validate_only()


@strawberry.input(description="A new skill.")
class SkillCreateInput(SkillFields):
    name: str = strawberry.field(description=NAME)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)


@strawberry.input(description=UPDATE)
class SkillUpdateInput(SkillFields):
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)


def _require(kind: str) -> Any:
    return described(f"Whether a password must contain {kind}.")


@strawberry.input(description="Permissions and password policy; you can grant only permissions you hold.")
class SecurityProfileFields:
    description: str | None = described(DESCRIPTION)
    permissions: list[Permission] | None = described(
        "The permissions the profile grants; replaces the list. You can grant only permissions you hold."
    )
    password_min_length: int | None = described(
        "The shortest password its users may set. " + rule(cw.SECURITY_PROFILE, "password_min_length")
    )
    password_require_uppercase: bool | None = _require("an upper-case letter")
    password_require_lowercase: bool | None = _require("a lower-case letter")
    password_require_digit: bool | None = _require("a digit")
    password_require_symbol: bool | None = _require("a symbol")
    generate_random_passwords: bool | None = described(
        "Whether passwords are generated and e-mailed instead of typed in."
    )
    validate_only: bool = validate_only()


@strawberry.input(description="A new security profile.")
class SecurityProfileCreateInput(SecurityProfileFields):
    name: str = strawberry.field(description=NAME)
    business_unit_id: relay.GlobalID | None = described(UNIT, None)


@strawberry.input(description=f"{UPDATE} You can grant only permissions you hold.")
class SecurityProfileUpdateInput(SecurityProfileFields):
    id: relay.GlobalID = strawberry.field(description=ID)
    version: int = strawberry.field(description=VERSION)
    name: str | None = described(NEW_NAME)


@strawberry.input(description="The object to delete.")
class DeleteInput:
    id: relay.GlobalID = strawberry.field(description="The global ID of the object to delete.")
    validate_only: bool = validate_only()


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
