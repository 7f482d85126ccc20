from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.schema.node import node_type
from ccgraph.schema.relay import PageInfo, nested_connection, page_args
from ccgraph.schema.routing import WorkStream
from ccgraph.services.pagination import Page

if TYPE_CHECKING:
    from ccgraph.schema.users import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users")]


@node_type(Permission.SKILLS_VIEW, "skill")
@strawberry.type
class Skill(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    active: bool
    work_stream_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Skill) -> Skill:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            active=row.active,
            work_stream_id=row.work_stream_id,
        )

    @strawberry.field(description="The work stream (channel) the skill belongs to.")
    async def work_stream(self, info: Info) -> WorkStream | None:
        if self.work_stream_id is None:
            return None
        row = await info.context.loaders.work_stream.load(self.work_stream_id)
        return WorkStream.from_row(row) if row else None

    @strawberry.field(description="Users who have this skill, with their proficiency.")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> SkillUserConnection:
        loaders = info.context.loaders
        return await nested_connection(
            SkillUserConnection,
            loaders.skill_users,
            loaders.skill_users_count,
            self.id,
            page_args(first, after, last, before),
            lambda r: r,
            search,
        )


@strawberry.type(description="A user's skill, with the user's proficiency on the edge.")
class UserSkillEdge:
    cursor: str
    node: Skill
    proficiency: int = strawberry.field(description="1 is the most proficient, 20 the least.")


@strawberry.type
class UserSkillConnection:
    edges: list[UserSkillEdge]
    page_info: PageInfo
    _count: strawberry.Private[Any]

    @strawberry.field
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def of(cls, page: Page, _convert: Any, count: Any) -> UserSkillConnection:
        return cls(
            edges=[
                UserSkillEdge(cursor=c, node=Skill.from_row(skill), proficiency=proficiency)
                for (skill, proficiency), c in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            _count=count,
        )


@strawberry.type(description="A user who has the skill, with their proficiency on the edge.")
class SkillUserEdge:
    cursor: str
    node: LazyUser
    proficiency: int = strawberry.field(description="1 is the most proficient, 20 the least.")


@strawberry.type
class SkillUserConnection:
    edges: list[SkillUserEdge]
    page_info: PageInfo
    _count: strawberry.Private[Any]

    @strawberry.field
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def of(cls, page: Page, _convert: Any, count: Any) -> SkillUserConnection:
        from ccgraph.schema.users import User

        return cls(
            edges=[
                SkillUserEdge(cursor=c, node=User.from_row(user), proficiency=proficiency)
                for (user, proficiency), c in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            _count=count,
        )
