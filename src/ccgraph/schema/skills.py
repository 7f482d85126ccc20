from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.execution.prefetch import Related, needs
from ccgraph.schema.enums import ProficiencyOrder
from ccgraph.schema.node import node_type
from ccgraph.schema.relay import Edge, PageInfo, nested_connection, nested_pages, paginated
from ccgraph.schema.routing import WorkStream
from ccgraph.services.pagination import Page, PageArgs

if TYPE_CHECKING:
    from ccgraph.schema.users import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users")]
T = TypeVar("T")


WORK_STREAM = Related("work_stream", lambda skill: skill.work_stream_id)
USERS = nested_pages("skill_users")


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
        from ccgraph.schema.users import User

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
    edges: list[ProficiencyEdge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], int | Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    def total_count(self) -> int:
        return self._count()  # type: ignore[return-value] (graphql-core awaits an awaitable)

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
