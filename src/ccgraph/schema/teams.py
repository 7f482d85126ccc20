from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.node import node_type
from ccgraph.schema.user_connections import users_field


@node_type(m.Team, "team")
@strawberry.type
class Team(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str

    @classmethod
    def from_row(cls, row: m.Team) -> Team:
        return cls(id=row.id, name=row.name, description=row.description)

    users = users_field("team_users", "The team's members.")
