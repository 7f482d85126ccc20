from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import Select
from strawberry import relay
from strawberry.types import Info

from ccgraph.execution.prefetch import prefetch
from ccgraph.schema.enums import OrderDirection, UserOrderField
from ccgraph.schema.node import decode_id, resolve_node
from ccgraph.schema.relay import Connection, page_args
from ccgraph.schema.users import User
from ccgraph.services import pagination
from ccgraph.services.pagination import Ordering, PageArgs
from ccgraph.services.users import queries as users


@strawberry.input(description="A custom field, by label, and the value it must have (case-insensitive).")
class CustomFieldFilter:
    label: str
    value: str | None


@strawberry.input(description="Narrow the user list; every given condition must hold.")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the username, first or last name, or e-mail."
    )
    enabled: bool | None = None
    team_id: relay.GlobalID | None = None
    user_profile_id: relay.GlobalID | None = None
    security_profile_id: relay.GlobalID | None = None
    skill_id: relay.GlobalID | None = strawberry.field(default=None, description="Users with this skill.")
    not_skill_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Users without this skill (the 'Add Users' picker)."
    )
    business_unit_id: relay.GlobalID | None = None
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(
        default=None, description="Custom fields by their unit's current label; every one must match."
    )


@strawberry.input
class UserOrder:
    field: UserOrderField = UserOrderField.USERNAME  # type: ignore[assignment]
    direction: OrderDirection = OrderDirection.ASC


def _id(name: str, value: relay.GlobalID | None, type_name: str) -> int | None:
    return None if value is None else decode_id(f"filter.{name}", value, type_name)[1]


async def list_users(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: UserFilter | None = None,
    order_by: UserOrder | None = None,
) -> Connection[User]:
    args = page_args(first, after, last, before)
    order = order_by or UserOrder()
    stmt = users.users_query(info.context.principal, user_filter(filter))
    ordering = users.user_ordering(order.field, order.direction is OrderDirection.DESC)
    return await paged(info, stmt, ordering, args, User)


def user_filter(given: UserFilter | None) -> users.UserFilter:
    f = given or UserFilter()
    return users.UserFilter(
        search=f.search,
        enabled=f.enabled,
        team_id=_id("teamId", f.team_id, "Team"),
        user_profile_id=_id("userProfileId", f.user_profile_id, "UserProfile"),
        security_profile_id=_id("securityProfileId", f.security_profile_id, "SecurityProfile"),
        skill_id=_id("skillId", f.skill_id, "Skill"),
        not_skill_id=_id("notSkillId", f.not_skill_id, "Skill"),
        business_unit_id=_id("businessUnitId", f.business_unit_id, "BusinessUnit"),
        custom_fields=tuple((c.label, c.value) for c in f.custom_fields or ()),
    )


async def paged(info: Info, stmt: Select[Any], ordering: Ordering, page: PageArgs, node: Any) -> Connection:
    """A root connection of `node`s: one statement for the page, one for the total when asked,
    and what the query selects under the page's nodes loaded for all of them at once."""
    ctx = info.context
    async with ctx.db() as session:
        found = await pagination.fetch_page(session, stmt, ordering, page)
    await prefetch(info, node, found.rows)

    async def total() -> int:
        async with ctx.db() as session:
            return await pagination.count(session, stmt)

    return Connection.of(found, node.from_row, total)


async def get_user(info: Info, id: relay.GlobalID) -> User | None:
    return await resolve_node(info, "id", id, "User")
