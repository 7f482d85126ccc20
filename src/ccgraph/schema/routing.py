"""Queues, work streams (channels) and presence statuses."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.enums import BaseStatus, Channel
from ccgraph.schema.node import node_type


@node_type(m.Queue, "queue")
@strawberry.type
class Queue(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str

    @classmethod
    def from_row(cls, row: m.Queue) -> Queue:
        return cls(id=row.id, name=row.name, description=row.description)


@node_type(m.WorkStream, "work_stream")
@strawberry.type(description="A work stream: the channel work arrives on.")
class WorkStream(relay.Node):
    id: relay.NodeID[int]
    name: str
    channel: Channel

    @classmethod
    def from_row(cls, row: m.WorkStream) -> WorkStream:
        return cls(id=row.id, name=row.name, channel=row.channel)


@node_type(m.PresenceStatus, "presence_status")
@strawberry.type(description="A presence status; a custom one maps to a base status.")
class PresenceStatus(relay.Node):
    id: relay.NodeID[int]
    name: str
    base_status: BaseStatus
    is_custom: bool

    @classmethod
    def from_row(cls, row: m.PresenceStatus) -> PresenceStatus:
        return cls(id=row.id, name=row.name, base_status=row.base_status, is_custom=row.is_custom)
