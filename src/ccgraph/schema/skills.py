"""Skills, a user's skills and a skill's users with the proficiency on each edge, and the inputs
that assign them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.execution.prefetch import Related, needs
from ccgraph.schema.catalog.types import (
    DESCRIBED,
    UNREAD,
    VERSION,
    WorkStream,
    business_unit_field,
)
from ccgraph.schema.descriptions import DESCRIPTION_TEXT, NAME_TEXT, UPDATED_AT, VALIDATE
from ccgraph.schema.enums import ProficiencyOrder
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import RESULT, USER_ERRORS, FieldChange, changes_field, payload_description
from ccgraph.schema.relay import EDGES, PAGE_INFO, Edge, PageInfo, nested_connection, nested_pages, paginated
from ccgraph.schema.users.inputs import UserSkillInput
from ccgraph.services.pagination import Page, PageArgs

if TYPE_CHECKING:
    from ccgraph.schema.users.types import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users.types")]
T = TypeVar("T")


WORK_STREAM = Related("work_stream", lambda skill: skill.work_stream_id)
USERS = nested_pages("skill_users")


@node_type(m.Skill, "skill", shows=DESCRIBED, unread=UNREAD)
@strawberry.type
class Skill(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description=NAME_TEXT)
    description: str = strawberry.field(description=DESCRIPTION_TEXT)
    active: bool = strawberry.field(description="Whether routing uses it; an inactive skill stays assigned.")
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    work_stream_id: strawberry.Private[int | None]
    business_unit_id: strawberry.Private[int]
    business_unit = business_unit_field()

    @classmethod
    def from_row(cls, row: m.Skill) -> Skill:
        return cls(
            business_unit_id=row.business_unit_id,
            id=row.id,
            name=row.name,
            version=row.version,
            updated_at=row.updated_at,
            description=row.description,
            active=row.active,
            work_stream_id=row.work_stream_id,
        )

    @strawberry.field(
        description="The work stream (channel) the skill belongs to.", metadata=needs(WORK_STREAM)
    )
    def work_stream(self, info: Info) -> WorkStream | None:
        return WORK_STREAM.get(info, self, WorkStream.from_row)

    @strawberry.field(
        description="Users who have this skill, with their proficiency.", metadata=needs(*USERS)
    )
    @paginated
    def users(
        self,
        info: Info,
        page: PageArgs,
        search: str | None = None,
        order_by: ProficiencyOrder | None = None,
    ) -> ProficiencyConnection[LazyUser] | None:
        from ccgraph.schema.users.types import User

        return nested_connection(
            info,
            self,
            USERS,
            ProficiencyConnection,
            User.from_row,
            page=page,
            search=search,
            order_by=order_by,
        )


@strawberry.type(description="An edge that carries the user's proficiency in the skill.")
class ProficiencyEdge(Edge[T]):
    proficiency: int = strawberry.field(description="1 is the most proficient, 20 the least.")


@strawberry.type(description="Skills of a user, or users of a skill, with the proficiency on each edge.")
class ProficiencyConnection(Generic[T]):
    edges: list[ProficiencyEdge[T]] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    _count: strawberry.Private[Callable[[], int | Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    def total_count(self) -> int:
        return cast(int, self._count())  # or an awaitable of it, which graphql-core awaits

    @strawberry.field(description="The page's nodes, without their cursors (nor proficiencies).")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(
        cls, page: Page, convert: Callable[[Any], T], count: Callable[[], int | Awaitable[int]]
    ) -> ProficiencyConnection[T]:
        return cls(
            edges=[
                ProficiencyEdge(node=convert(row), page=page, index=i, proficiency=proficiency)
                for i, (row, proficiency) in enumerate(page.rows)
            ],
            page_info=PageInfo.of(page),
            _count=count,
        )


@strawberry.type(description=payload_description("skill"))
class SkillPayload:
    skill: Skill | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


THE_USER = "The user, by global ID."
THE_SKILL = "The skill, by global ID."
PROFICIENCY = f"From {PROFICIENCY_MOST} (the most proficient) to {PROFICIENCY_LEAST} (the least)."
SET_ALL = f"Give every assigned one this proficiency (instead of listing them). {PROFICIENCY}"


@strawberry.input(description="A user and their proficiency in the skill (1 most, 20 least).")
class SkillUserInput:
    user_id: relay.GlobalID = strawberry.field(description="The user's global ID.")
    proficiency: int = strawberry.field(description=PROFICIENCY)


@strawberry.input(description="Give a user skills, each with a proficiency.")
class UserSkillsAddInput:
    user_id: relay.GlobalID = strawberry.field(description=THE_USER)
    skills: list[UserSkillInput] = strawberry.field(description="The skills to add (none assigned yet).")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Change many of a user's proficiencies, or all of them at once.")
class UserSkillsSetProficiencyInput:
    user_id: relay.GlobalID = strawberry.field(description=THE_USER)
    skills: list[UserSkillInput] | None = strawberry.field(
        default=None, description="The assigned skills to change, each with its new proficiency."
    )
    set_all_to: int | None = strawberry.field(default=None, description=SET_ALL)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Take skills away from a user.")
class UserSkillsRemoveInput:
    user_id: relay.GlobalID = strawberry.field(description=THE_USER)
    skill_ids: list[relay.GlobalID] = strawberry.field(description="The skills to remove (all assigned).")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Give a skill to users, each with a proficiency.")
class SkillUsersAddInput:
    skill_id: relay.GlobalID = strawberry.field(description=THE_SKILL)
    users: list[SkillUserInput] = strawberry.field(description="The users to add (none has it yet).")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Change many users' proficiency in the skill, or all at once.")
class SkillUsersSetProficiencyInput:
    skill_id: relay.GlobalID = strawberry.field(description=THE_SKILL)
    users: list[SkillUserInput] | None = strawberry.field(
        default=None, description="The users whose proficiency changes, each with the new one."
    )
    set_all_to: int | None = strawberry.field(default=None, description=SET_ALL)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Take a skill away from users.")
class SkillUsersRemoveInput:
    skill_id: relay.GlobalID = strawberry.field(description=THE_SKILL)
    user_ids: list[relay.GlobalID] = strawberry.field(description="The users to remove (all have it).")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)
