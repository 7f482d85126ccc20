"""Mutation payloads: the object written (or, on CONFLICT, as it is now) and `userErrors`."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.schema.errors import UserError
from ccgraph.schema.routing import PresenceStatus, Queue, WorkStream
from ccgraph.schema.security_profiles import SecurityProfile
from ccgraph.schema.skills import Skill
from ccgraph.schema.teams import Team
from ccgraph.schema.user_profiles import UserProfile
from ccgraph.schema.users import User


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class UserDeletePayload:
    deleted_user_id: relay.GlobalID | None
    user_errors: list[UserError]


@strawberry.type
class TeamPayload:
    team: Team | None
    user_errors: list[UserError]


@strawberry.type
class QueuePayload:
    queue: Queue | None
    user_errors: list[UserError]


@strawberry.type
class WorkStreamPayload:
    work_stream: WorkStream | None
    user_errors: list[UserError]


@strawberry.type
class PresenceStatusPayload:
    presence_status: PresenceStatus | None
    user_errors: list[UserError]


@strawberry.type
class UserProfilePayload:
    user_profile: UserProfile | None
    user_errors: list[UserError]


@strawberry.type
class SkillPayload:
    skill: Skill | None
    user_errors: list[UserError]


@strawberry.type
class SecurityProfilePayload:
    security_profile: SecurityProfile | None
    user_errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: relay.GlobalID | None
    user_errors: list[UserError]
