from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.schema.enums import Channel
from ccgraph.schema.node import node_type
from ccgraph.schema.routing import PresenceStatus, Queue, WorkStream
from ccgraph.schema.user_connections import users_field


@strawberry.type(description="A number per channel, e.g. the maximum simultaneous contacts.")
class ChannelValue:
    channel: Channel
    value: int


def channel_values(values: dict[str, int] | None) -> list[ChannelValue]:
    return [ChannelValue(channel=Channel(k), value=v) for k, v in sorted((values or {}).items())]


@node_type(m.UserProfile, "user_profile")
@strawberry.type(description="A template of routing properties that many users inherit.")
class UserProfile(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    capacity: int | None
    channel_concurrency: list[ChannelValue]
    default_presence_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.UserProfile) -> UserProfile:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            capacity=row.capacity,
            channel_concurrency=channel_values(row.channel_concurrency),
            default_presence_id=row.default_presence_id,
        )

    @strawberry.field
    async def default_presence(self, info: Info) -> PresenceStatus | None:
        if self.default_presence_id is None:
            return None
        row = await info.context.loaders.presence_status.load(self.default_presence_id)
        return PresenceStatus.from_row(row) if row else None

    @strawberry.field
    async def queues(self, info: Info) -> list[Queue] | None:
        return [Queue.from_row(r) for r in await info.context.loaders.profile_queues.load(self.id)]

    @strawberry.field
    async def work_streams(self, info: Info) -> list[WorkStream] | None:
        rows = await info.context.loaders.profile_work_streams.load(self.id)
        return [WorkStream.from_row(r) for r in rows]

    users = users_field("profile_users", "Users who inherit this profile.")
