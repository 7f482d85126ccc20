from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.execution.prefetch import Related, needs
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
