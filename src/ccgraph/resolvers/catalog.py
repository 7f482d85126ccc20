"""Root connections of the named objects: teams, queues, work streams, presence statuses,
skills, user profiles, security profiles, business units."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.resolvers.users import paged
from ccgraph.schema.enums import Permission as PermissionEnum
from ccgraph.schema.node import decode_id
from ccgraph.schema.permissions import requires, signed_in
from ccgraph.schema.relay import Connection, page_args
from ccgraph.schema.security_profiles import PermissionInfo
from ccgraph.schema.skills import Skill
from ccgraph.services.catalog import queries as catalog


def catalog_connection(model: Any, node: Any, permission: Permission, description: str) -> Any:
    async def resolve(
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> Connection[node]:  # type: ignore[valid-type]
        args = page_args(first, after, last, before)
        stmt = catalog.catalog_query(model, info.context.principal, search)
        return await paged(info, stmt, catalog.ordering(model), args, node)

    return strawberry.field(resolver=resolve, description=description, extensions=[requires(permission)])


async def list_skills(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    search: str | None = None,
    not_assigned_to_user_id: relay.GlobalID | None = None,
) -> Connection[Skill]:
    args = page_args(first, after, last, before)
    user_id = (
        None
        if not_assigned_to_user_id is None
        else decode_id("notAssignedToUserId", not_assigned_to_user_id, "User")[1]
    )
    stmt = catalog.skills_query(info.context.principal, search, user_id)
    return await paged(info, stmt, catalog.ordering(m.Skill), args, Skill)


def permission_catalogue() -> list[PermissionInfo]:
    return [PermissionInfo(name=PermissionEnum(p), description=p.description) for p in Permission]


permissions_field = strawberry.field(
    resolver=permission_catalogue,
    description="Every permission a security profile can grant.",
    extensions=[signed_in()],
)
