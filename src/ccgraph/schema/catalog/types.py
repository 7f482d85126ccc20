"""The named objects of a business unit's catalog: queues, work streams, presence statuses, teams,
user profiles and security profiles, and the payloads of their mutations (Skill is in
schema/skills.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission as PermissionValue
from ccgraph.execution.prefetch import Related, needs
from ccgraph.schema.descriptions import DESCRIPTION_TEXT, EXTERNAL_ID, NAME_TEXT, UPDATED_AT
from ccgraph.schema.enums import BaseStatus, Channel, Permission
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import RESULT, USER_ERRORS, FieldChange, changes_field, payload_description
from ccgraph.schema.users.connections import users_field

if TYPE_CHECKING:
    from ccgraph.schema.business_units import BusinessUnit

LazyBusinessUnit = Annotated["BusinessUnit", strawberry.lazy("ccgraph.schema.business_units")]

VERSION = "Send it back with an update; a stale one conflicts."
UNIT = Related("business_unit", lambda named: named.business_unit_id)
# A stored permission name -> (its place in the enum, its member).
RANKED = {p.value: (i, p) for i, p in enumerate(PermissionValue)}


# (Each from_row names its fields: a row is converted some 2,000 times a page, and a shared
# dict of the common ones, splatted, costs half as much again.)

# What only a catalog object's own fields show, and what no field reads (execution.columns).
SHOWN = {"version": ("version",), "updatedAt": ("updated_at",)}
DESCRIBED = {**SHOWN, "description": ("description",)}
UNREAD = ("created_at",)


def business_unit_field() -> Any:
    """`businessUnit` of a catalog object: where it belongs, to tell apart same-named objects of
    several units. A BusinessUnit reads as it does wherever it is reached (BUSINESS_UNITS_VIEW)."""

    def resolve(root: Any, info: Info) -> LazyBusinessUnit | None:
        from ccgraph.schema.business_units import BusinessUnit

        return UNIT.get(info, root, BusinessUnit.from_row)

    return strawberry.field(
        resolver=resolve, description="The business unit the object belongs to.", metadata=needs(UNIT)
    )


@node_type(m.Queue, "queue", shows=DESCRIBED, unread=UNREAD)
@strawberry.type(description="A queue: where contacts wait for an agent who serves it.")
class Queue(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    description: str = strawberry.field(description=DESCRIPTION_TEXT)
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.Queue) -> Queue:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            description=row.description,
        )


@node_type(m.WorkStream, "work_stream", shows=SHOWN, unread=UNREAD)
@strawberry.type(description="A work stream: the channel work arrives on.")
class WorkStream(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    channel: Channel = strawberry.field(description="The channel its work arrives on.")
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.WorkStream) -> WorkStream:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            channel=row.channel,
        )


@node_type(m.PresenceStatus, "presence_status", shows=SHOWN, unread=UNREAD)
@strawberry.type(description="A presence status; a custom one maps to a base status.")
class PresenceStatus(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    base_status: BaseStatus = strawberry.field(description="The base status it counts as for routing.")
    is_custom: bool = strawberry.field(
        description="False for a base status: its name and base status are read-only and it is never deleted."
    )
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.PresenceStatus) -> PresenceStatus:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            base_status=row.base_status,
            is_custom=row.is_custom,
        )


@strawberry.type(description=payload_description("queue"))
class QueuePayload:
    queue: Queue | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@strawberry.type(description=payload_description("work stream"))
class WorkStreamPayload:
    work_stream: WorkStream | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@strawberry.type(description=payload_description("presence status"))
class PresenceStatusPayload:
    presence_status: PresenceStatus | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@node_type(m.Team, "team", shows={**DESCRIBED, "externalId": ("external_id",)}, unread=UNREAD)
@strawberry.type(description="A team of users, as supervisors organise them.")
class Team(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    description: str = strawberry.field(description=DESCRIPTION_TEXT)
    external_id: str | None = strawberry.field(description=EXTERNAL_ID.format(what="team"))
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.Team) -> Team:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            description=row.description,
            external_id=row.external_id,
        )

    users = users_field("team_users", "The team's members.")


@strawberry.type(description=payload_description("team"))
class TeamPayload:
    team: Team | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@strawberry.type(description="A number per channel, e.g. the maximum simultaneous contacts.")
class ChannelValue:
    channel: Channel = strawberry.field(description="The channel.")
    value: int = strawberry.field(description="The number for that channel.")


def channel_values(values: dict[str, int] | None) -> list[ChannelValue]:
    return [ChannelValue(channel=Channel(k), value=v) for k, v in sorted((values or {}).items())]


PRESENCE = Related("presence_status", lambda profile: profile.default_presence_id)
QUEUES = Related("profile_queues", lambda profile: profile.id, many=True)
WORK_STREAMS = Related("profile_work_streams", lambda profile: profile.id, many=True)


@node_type(m.UserProfile, "user_profile", shows=DESCRIBED, unread=UNREAD)
@strawberry.type(description="A template of routing properties that many users inherit.")
class UserProfile(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    description: str = strawberry.field(description=DESCRIPTION_TEXT)
    capacity: int | None = strawberry.field(
        description="The work units a user may hold at once, unless the user sets their own."
    )
    channel_concurrency: list[ChannelValue] = strawberry.field(
        description="The most contacts of each channel a user handles at once."
    )
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    default_presence_id: strawberry.Private[int | None]

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.UserProfile) -> UserProfile:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            description=row.description,
            capacity=row.capacity,
            channel_concurrency=channel_values(row.channel_concurrency),
            default_presence_id=row.default_presence_id,
        )

    @strawberry.field(metadata=needs(PRESENCE), description="The status its users start in.")
    def default_presence(self, info: Info) -> PresenceStatus | None:
        return PRESENCE.get(info, self, PresenceStatus.from_row)

    @strawberry.field(metadata=needs(QUEUES), description="The queues its users serve.")
    def queues(self, info: Info) -> list[Queue] | None:
        return QUEUES.get(info, self, lambda rows: [Queue.from_row(r) for r in rows])

    @strawberry.field(metadata=needs(WORK_STREAMS), description="The work streams its users take work from.")
    def work_streams(self, info: Info) -> list[WorkStream] | None:
        return WORK_STREAMS.get(info, self, lambda rows: [WorkStream.from_row(r) for r in rows])

    users = users_field("profile_users", "Users who inherit this profile.")


@strawberry.type(description=payload_description("user profile"))
class UserProfilePayload:
    user_profile: UserProfile | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@strawberry.type(description="Rules a password must meet, and whether passwords are generated.")
class PasswordPolicy:
    min_length: int = strawberry.field(description="The fewest characters a password may have.")
    require_uppercase: bool = strawberry.field(description="A password needs an upper-case letter.")
    require_lowercase: bool = strawberry.field(description="A password needs a lower-case letter.")
    require_digit: bool = strawberry.field(description="A password needs a digit.")
    require_symbol: bool = strawberry.field(description="A password needs a symbol.")
    generate_random_passwords: bool = strawberry.field(
        description="Passwords are generated and e-mailed; none may be typed in."
    )


@node_type(m.SecurityProfile, "security_profile", shows=DESCRIBED, unread=UNREAD)
@strawberry.type(description="A named set of permissions and a password policy.")
class SecurityProfile(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    description: str = strawberry.field(description=DESCRIPTION_TEXT)
    permissions: list[Permission] = strawberry.field(description="What its holders may do.")
    password_policy: PasswordPolicy = strawberry.field(description="The rules for its holders' passwords.")
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.SecurityProfile) -> SecurityProfile:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            description=row.description,
            # in the enum's order; a stored name the enum no longer has is left out
            permissions=[p for _, p in sorted(RANKED[p] for p in row.permissions if p in RANKED)],
            password_policy=PasswordPolicy(
                min_length=row.password_min_length,
                require_uppercase=row.password_require_uppercase,
                require_lowercase=row.password_require_lowercase,
                require_digit=row.password_require_digit,
                require_symbol=row.password_require_symbol,
                generate_random_passwords=row.generate_random_passwords,
            ),
        )

    users = users_field("security_profile_users", "Users who hold this security profile.")


@strawberry.type(description="One entry of the permission catalogue.")
class PermissionInfo:
    name: Permission = strawberry.field(description="The permission, as security profiles grant it.")
    description: str = strawberry.field(description="What it lets its holder do.")
    mutations: list[str] = strawberry.field(
        description="The mutations that need it (their names), for a front end to show or hide them."
    )
    fields: list[str] = strawberry.field(
        description="The other fields that need it, as `Type.field` (root lists such as `Query.users` "
        "among them)."
    )
    types: list[str] = strawberry.field(
        description="The object types it guards: an object of one is read only with the permission."
    )


@strawberry.type(description=payload_description("security profile"))
class SecurityProfilePayload:
    security_profile: SecurityProfile | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()
