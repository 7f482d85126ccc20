"""The named objects of a business unit's catalog: queues, work streams, presence statuses, teams,
user profiles and security profiles, and the payloads of their mutations (Skill is in
schema/skills.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission as PermissionValue
from ccgraph.execution.prefetch import Related, needs
from ccgraph.schema.enums import BaseStatus, Channel, Permission
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import FieldChange, changes_field
from ccgraph.schema.users.connections import users_field

if TYPE_CHECKING:
    from ccgraph.schema.business_units import BusinessUnit

LazyBusinessUnit = Annotated["BusinessUnit", strawberry.lazy("ccgraph.schema.business_units")]

VERSION = "Send it back with an update; a stale one conflicts."
UNIT = Related("business_unit", lambda named: named.business_unit_id)


def catalog_values(row: Any) -> dict[str, Any]:
    """What every catalog object reads alike from its row."""
    return {"business_unit_id": row.business_unit_id, "id": row.id, "name": row.name, "version": row.version}


def business_unit_field() -> Any:
    """`businessUnit` of a catalog object: where it belongs, to tell apart same-named objects of
    several units. A BusinessUnit reads as it does wherever it is reached (BUSINESS_UNITS_VIEW)."""

    def resolve(root: Any, info: Info) -> LazyBusinessUnit | None:
        from ccgraph.schema.business_units import BusinessUnit

        return UNIT.get(info, root, BusinessUnit.from_row)

    return strawberry.field(
        resolver=resolve, description="The business unit the object belongs to.", metadata=needs(UNIT)
    )


@node_type(m.Queue, "queue")
@strawberry.type
class Queue(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    version: int = strawberry.field(description=VERSION)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.Queue) -> Queue:
        return cls(
            **catalog_values(row),
            description=row.description,
        )


@node_type(m.WorkStream, "work_stream")
@strawberry.type(description="A work stream: the channel work arrives on.")
class WorkStream(relay.Node):
    id: relay.NodeID[int]
    name: str
    channel: Channel
    version: int = strawberry.field(description=VERSION)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.WorkStream) -> WorkStream:
        return cls(
            **catalog_values(row),
            channel=row.channel,
        )


@node_type(m.PresenceStatus, "presence_status")
@strawberry.type(description="A presence status; a custom one maps to a base status.")
class PresenceStatus(relay.Node):
    id: relay.NodeID[int]
    name: str
    base_status: BaseStatus
    is_custom: bool = strawberry.field(
        description="False for a base status: its name and base status are read-only and it is never deleted."
    )
    version: int = strawberry.field(description=VERSION)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.PresenceStatus) -> PresenceStatus:
        return cls(
            **catalog_values(row),
            base_status=row.base_status,
            is_custom=row.is_custom,
        )


@strawberry.type
class QueuePayload:
    queue: Queue | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@strawberry.type
class WorkStreamPayload:
    work_stream: WorkStream | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@strawberry.type
class PresenceStatusPayload:
    presence_status: PresenceStatus | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@node_type(m.Team, "team")
@strawberry.type
class Team(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    version: int = strawberry.field(description=VERSION)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.Team) -> Team:
        return cls(
            **catalog_values(row),
            description=row.description,
        )

    users = users_field("team_users", "The team's members.")


@strawberry.type
class TeamPayload:
    team: Team | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@strawberry.type(description="A number per channel, e.g. the maximum simultaneous contacts.")
class ChannelValue:
    channel: Channel
    value: int


def channel_values(values: dict[str, int] | None) -> list[ChannelValue]:
    return [ChannelValue(channel=Channel(k), value=v) for k, v in sorted((values or {}).items())]


PRESENCE = Related("presence_status", lambda profile: profile.default_presence_id)
QUEUES = Related("profile_queues", lambda profile: profile.id, many=True)
WORK_STREAMS = Related("profile_work_streams", lambda profile: profile.id, many=True)


@node_type(m.UserProfile, "user_profile")
@strawberry.type(description="A template of routing properties that many users inherit.")
class UserProfile(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    capacity: int | None
    channel_concurrency: list[ChannelValue]
    version: int = strawberry.field(description=VERSION)
    default_presence_id: strawberry.Private[int | None]

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.UserProfile) -> UserProfile:
        return cls(
            **catalog_values(row),
            description=row.description,
            capacity=row.capacity,
            channel_concurrency=channel_values(row.channel_concurrency),
            default_presence_id=row.default_presence_id,
        )

    @strawberry.field(metadata=needs(PRESENCE))
    def default_presence(self, info: Info) -> PresenceStatus | None:
        return PRESENCE.get(info, self, PresenceStatus.from_row)

    @strawberry.field(metadata=needs(QUEUES))
    def queues(self, info: Info) -> list[Queue] | None:
        return QUEUES.get(info, self, lambda rows: [Queue.from_row(r) for r in rows])

    @strawberry.field(metadata=needs(WORK_STREAMS))
    def work_streams(self, info: Info) -> list[WorkStream] | None:
        return WORK_STREAMS.get(info, self, lambda rows: [WorkStream.from_row(r) for r in rows])

    users = users_field("profile_users", "Users who inherit this profile.")


@strawberry.type
class UserProfilePayload:
    user_profile: UserProfile | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@strawberry.type(description="Rules a password must meet, and whether passwords are generated.")
class PasswordPolicy:
    min_length: int
    require_uppercase: bool
    require_lowercase: bool
    require_digit: bool
    require_symbol: bool
    generate_random_passwords: bool = strawberry.field(
        description="Passwords are generated and e-mailed; none may be typed in."
    )


@node_type(m.SecurityProfile, "security_profile")
@strawberry.type(description="A named set of permissions and a password policy.")
class SecurityProfile(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    permissions: list[Permission]
    password_policy: PasswordPolicy
    version: int = strawberry.field(description=VERSION)

    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.SecurityProfile) -> SecurityProfile:
        return cls(
            **catalog_values(row),
            description=row.description,
            permissions=sorted(
                (PermissionValue(p) for p in row.permissions if p in PermissionValue.__members__),
                key=list(PermissionValue).index,
            ),
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


@strawberry.type
class SecurityProfilePayload:
    security_profile: SecurityProfile | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()
