"""Users: the list and the look-up, and the lifecycle (create, copy, update, enable, disable,
delete, assign a profile, direct reports); the root fields this domain contributes."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import paged, write
from ccgraph.schema.enums import OrderDirection
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import decode, resolve_node
from ccgraph.schema.payloads import field_changes
from ccgraph.schema.permissions import requires
from ccgraph.schema.relay import Connection, numbered_pages
from ccgraph.schema.users.inputs import (
    MAX_DIRECT_REPORTS,
    UserAssignProfileInput,
    UserCopyInput,
    UserCreateInput,
    UserDirectReportsInput,
    UserFilter,
    UserIdInput,
    UserOrder,
    UserUpdateInput,
    user_filter,
    user_values,
)
from ccgraph.schema.users.types import User, UserDeletePayload, UserPayload
from ccgraph.services.errors import UserError as ServiceError
from ccgraph.services.pagination import PageArgs
from ccgraph.services.users import lifecycle
from ccgraph.services.users import queries as users
from ccgraph.services.users.direct_reports import Edit, edit_direct_reports
from ccgraph.services.writes import Outcome


def user_payload(outcome: Outcome) -> UserPayload:
    row = outcome.value
    return UserPayload(
        user=User.from_row(row) if row is not None else None,
        user_errors=UserError.many(outcome.errors),
        changes=field_changes(outcome, "User", row.id) if row is not None else [],
    )


@numbered_pages
async def list_users(
    info: Info, page: PageArgs, filter: UserFilter | None = None, order_by: UserOrder | None = None
) -> Connection[User]:
    order = order_by or UserOrder()
    principal, shown = info.context.principal, user_filter(filter)
    ordering = users.user_ordering(order.field, order.direction is OrderDirection.DESC)
    stmt, total_of = users.users_query(principal, shown), users.users_total(principal, shown)
    return await paged(info, stmt, ordering, page, User, total_of)


async def get_user(info: Info, id: relay.GlobalID) -> User | None:
    return await resolve_node(info, "id", id, "User")


async def user_create(info: Info, input: UserCreateInput) -> UserPayload:
    values, errors = user_values(input)
    unit = (
        decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
        if input.business_unit_id
        else None
    )
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.create_user(
            session,
            ctx.passwords,
            ctx.actor,
            values,
            password=input.password,
            password_confirmation=input.password_confirmation,
            business_unit_id=unit,
            validate_only=input.validate_only,
        ),
        user_payload,
    )


async def user_copy(info: Info, input: UserCopyInput) -> UserPayload:
    values, errors = user_values(input)
    source = decode(["sourceUserId"], input.source_user_id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.copy_user(
            session,
            ctx.passwords,
            ctx.actor,
            source,
            values,
            password=input.password,
            password_confirmation=input.password_confirmation,
            validate_only=input.validate_only,
        ),
        user_payload,
    )


async def user_update(info: Info, input: UserUpdateInput) -> UserPayload:
    values, errors = user_values(input)
    user_id = decode(["id"], input.id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.update_user(
            session, ctx.actor, user_id, input.version, values, validate_only=input.validate_only
        ),
        user_payload,
    )


async def _set_enabled(info: Info, input: UserIdInput, enabled: bool) -> UserPayload:
    errors: list = []
    user_id = decode(["id"], input.id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.set_enabled(
            session, ctx.actor, user_id, enabled, validate_only=input.validate_only
        ),
        user_payload,
    )


async def user_enable(info: Info, input: UserIdInput) -> UserPayload:
    return await _set_enabled(info, input, True)


async def user_disable(info: Info, input: UserIdInput) -> UserPayload:
    return await _set_enabled(info, input, False)


def _user_deleted(outcome: Outcome) -> UserDeletePayload:
    pk = outcome.value
    return UserDeletePayload(
        deleted_user_id=relay.GlobalID("User", str(pk)) if pk is not None else None,
        user_errors=UserError.many(outcome.errors),
    )


async def user_delete(info: Info, input: UserIdInput) -> UserDeletePayload:
    errors: list = []
    user_id = decode(["id"], input.id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.delete_user(
            session, ctx.actor, user_id, validate_only=input.validate_only
        ),
        _user_deleted,
    )


async def user_assign_profile(info: Info, input: UserAssignProfileInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    profile_id = (
        decode(["userProfileId"], input.user_profile_id, "UserProfile", errors)
        if input.user_profile_id is not None
        else None
    )
    return await write(
        info,
        errors,
        lambda session, ctx: lifecycle.assign_profile(
            session, ctx.actor, user_id, profile_id, validate_only=input.validate_only
        ),
        user_payload,
    )


async def _direct_reports(info: Info, input: UserDirectReportsInput, edit: Edit) -> UserPayload:
    errors: list = []
    manager_id = decode(["managerId"], input.manager_id, "User", errors)
    user_ids = [decode(["userIds", str(i)], v, "User", errors) for i, v in enumerate(input.user_ids)]
    if len(user_ids) > MAX_DIRECT_REPORTS:
        message = f"{len(user_ids)} users given; at most {MAX_DIRECT_REPORTS} a call."
        errors = [ServiceError(["userIds"], "TOO_MANY", message)]
    return await write(
        info,
        errors,
        lambda session, ctx: edit_direct_reports(
            session, ctx.actor, manager_id, user_ids, edit, validate_only=input.validate_only
        ),
        user_payload,
    )


async def user_direct_reports_add(info: Info, input: UserDirectReportsInput) -> UserPayload:
    return await _direct_reports(info, input, Edit.ADD)


async def user_direct_reports_remove(info: Info, input: UserDirectReportsInput) -> UserPayload:
    return await _direct_reports(info, input, Edit.REMOVE)


async def user_direct_reports_set(info: Info, input: UserDirectReportsInput) -> UserPayload:
    return await _direct_reports(info, input, Edit.SET)


@strawberry.type
class Query:
    users = strawberry.field(
        resolver=list_users,
        extensions=[requires(P.USERS_VIEW)],
        description="Users, filtered and ordered; at most 100 a page.",
    )
    user = strawberry.field(resolver=get_user, extensions=[requires(P.USERS_VIEW)])


@strawberry.type
class Mutation:
    user_create = strawberry.mutation(
        resolver=user_create,
        extensions=[requires(P.USERS_CREATE)],
        description="Create a user; skills in the input need SKILLS_EDIT as well. All or nothing.",
    )
    user_copy = strawberry.mutation(
        resolver=user_copy,
        extensions=[requires(P.USERS_CREATE)],
        description="Create a user like an existing one (NICE 'Copy').",
    )
    user_update = strawberry.mutation(
        resolver=user_update,
        extensions=[requires(P.USERS_EDIT)],
        description="Change a user; a stale `version` is a CONFLICT and nothing is applied.",
    )
    user_enable = strawberry.mutation(resolver=user_enable, extensions=[requires(P.USERS_EDIT)])
    user_disable = strawberry.mutation(
        resolver=user_disable,
        extensions=[requires(P.USERS_EDIT)],
        description="Disable a user: every session and access key of theirs stops working at once.",
    )
    user_delete = strawberry.mutation(
        resolver=user_delete,
        extensions=[requires(P.USERS_DELETE)],
        description="Delete a user: they are logged out everywhere; the audit trail keeps the record.",
    )
    user_assign_profile = strawberry.mutation(
        resolver=user_assign_profile,
        extensions=[requires(P.USERS_EDIT)],
        description="Give a user a profile, replacing the one they had (a user has at most one).",
    )
    user_direct_reports_add = strawberry.mutation(
        resolver=user_direct_reports_add,
        extensions=[requires(P.USERS_EDIT)],
        description="Make users direct reports of a manager (Dynamics 365 'Direct Reports'); "
        "answers with the manager.",
    )
    user_direct_reports_remove = strawberry.mutation(
        resolver=user_direct_reports_remove,
        extensions=[requires(P.USERS_EDIT)],
        description="Take users off a manager's direct reports (they are left without a manager); "
        "one who does not report to them is NOT_A_DIRECT_REPORT.",
    )
    user_direct_reports_set = strawberry.mutation(
        resolver=user_direct_reports_set,
        extensions=[requires(P.USERS_EDIT)],
        description="Make the listed users a manager's direct reports and no one else: those not "
        "listed lose this manager.",
    )
