from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.schema.enums import ProficiencyOrder
from ccgraph.schema.node import node_type
from ccgraph.schema.relay import Edge, PageInfo, nested_connection, page_args
from ccgraph.schema.routing import WorkStream
from ccgraph.services.pagination import Page

if TYPE_CHECKING:
    from ccgraph.schema.users import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users")]
T = TypeVar("T")


@node_type(m.Skill, "skill")
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
        order_by: ProficiencyOrder | None = None,
    ) -> ProficiencyConnection[LazyUser] | None:
        from ccgraph.schema.users import User

        loaders = info.context.loaders
        return await nested_connection(
            ProficiencyConnection,
            loaders.skill_users,
            loaders.skill_users_count,
            self.id,
            page_args(first, after, last, before),
            User.from_row,
            search,
            (order_by or ProficiencyOrder()).key(),
        )


@strawberry.type(description="An edge that carries the user's proficiency in the skill.")
class ProficiencyEdge(Edge[T]):
    proficiency: int = strawberry.field(description="1 is the most proficient, 20 the least.")


@strawberry.type(description="Skills of a user, or users of a skill, with the proficiency on each edge.")
class ProficiencyConnection(Generic[T]):
    edges: list[ProficiencyEdge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def of(
        cls, page: Page, convert: Callable[[Any], T], count: Callable[[], Awaitable[int]]
    ) -> ProficiencyConnection[T]:
        return cls(
            edges=[
                ProficiencyEdge(node=convert(row), page=page, index=i, proficiency=proficiency)
                for i, (row, proficiency) in enumerate(page.rows)
            ],
            page_info=PageInfo.of(page),
            _count=count,
        )
