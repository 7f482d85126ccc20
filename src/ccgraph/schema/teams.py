from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.schema.node import node_type
from ccgraph.schema.relay import Connection, nested_connection, page_args

if TYPE_CHECKING:
    from ccgraph.schema.users import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users")]


@node_type(Permission.TEAMS_VIEW, "team")
@strawberry.type
class Team(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str

    @classmethod
    def from_row(cls, row: m.Team) -> Team:
        return cls(id=row.id, name=row.name, description=row.description)

    @strawberry.field(description="The team's members.")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyUser]:
        from ccgraph.schema.users import User

        loaders = info.context.loaders
        return await nested_connection(
            Connection,
            loaders.team_users,
            loaders.team_users_count,
            self.id,
            page_args(first, after, last, before),
            User.from_row,
        )
