"""Payloads shared by every domain."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.schema.errors import UserError


@strawberry.type
class DeletePayload:
    deleted_id: relay.GlobalID | None
    user_errors: list[UserError]
