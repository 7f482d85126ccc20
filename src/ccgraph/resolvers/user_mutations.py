from __future__ import annotations

from typing import Any

from strawberry import UNSET, relay
from strawberry.types import Info

from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import UserDeletePayload, UserPayload
from ccgraph.schema.user_inputs import (
    UserAssignProfileInput,
    UserCopyInput,
    UserCreateInput,
    UserIdInput,
    UserUpdateInput,
    decode,
    user_values,
)
from ccgraph.schema.users import User
from ccgraph.services.users import lifecycle
from ccgraph.services.writes import Outcome


def _payload(outcome: Outcome[Any], errors: list | None = None) -> UserPayload:
    return UserPayload(
        user=User.from_row(outcome.value) if outcome.value is not None else None,
        user_errors=UserError.many([*(errors or []), *outcome.errors]),
    )


def _refused(errors: list) -> UserPayload:
    return UserPayload(user=None, user_errors=UserError.many(errors))


async def user_create(info: Info, input: UserCreateInput) -> UserPayload:
    values, errors = user_values(input)
    values |= {
        "username": input.username,
        "first_name": input.first_name,
        "last_name": input.last_name,
        "email": input.email,
    }
    unit = (
        decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
        if input.business_unit_id
        else None
    )
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.create_user(
            session,
            ctx.passwords,
            ctx.actor,
            values,
            password=input.password,
            password_confirmation=input.password_confirmation,
            business_unit_id=unit,
            validate_only=input.validate_only,
        )
    return _payload(outcome)


async def user_copy(info: Info, input: UserCopyInput) -> UserPayload:
    values, errors = user_values(input)
    values |= {
        "username": input.username,
        "first_name": input.first_name,
        "last_name": input.last_name,
        "email": input.email,
    }
    source = decode(["sourceUserId"], input.source_user_id, "User", errors)
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.copy_user(
            session,
            ctx.passwords,
            ctx.actor,
            source,
            values,
            password=input.password,
            password_confirmation=input.password_confirmation,
            validate_only=input.validate_only,
        )
    return _payload(outcome)


async def user_update(info: Info, input: UserUpdateInput) -> UserPayload:
    values, errors = user_values(input)
    for column in ("username", "first_name", "last_name", "email"):
        if getattr(input, column) is not UNSET:
            values[column] = getattr(input, column)
    user_id = decode(["id"], input.id, "User", errors)
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.update_user(
            session, ctx.actor, user_id, input.version, values, validate_only=input.validate_only
        )
    return _payload(outcome)


async def _set_enabled(info: Info, input: UserIdInput, enabled: bool) -> UserPayload:
    errors: list = []
    user_id = decode(["id"], input.id, "User", errors)
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.set_enabled(
            session, ctx.actor, user_id, enabled, validate_only=input.validate_only
        )
    return _payload(outcome)


async def user_enable(info: Info, input: UserIdInput) -> UserPayload:
    return await _set_enabled(info, input, True)


async def user_disable(info: Info, input: UserIdInput) -> UserPayload:
    return await _set_enabled(info, input, False)


async def user_delete(info: Info, input: UserIdInput) -> UserDeletePayload:
    errors: list = []
    user_id = decode(["id"], input.id, "User", errors)
    if errors:
        return UserDeletePayload(deleted_user_id=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.delete_user(session, ctx.actor, user_id, validate_only=input.validate_only)
    return UserDeletePayload(
        deleted_user_id=relay.GlobalID("User", str(outcome.value)) if outcome.value is not None else None,
        user_errors=UserError.many(outcome.errors),
    )


async def user_assign_profile(info: Info, input: UserAssignProfileInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    profile_id = (
        decode(["userProfileId"], input.user_profile_id, "UserProfile", errors)
        if input.user_profile_id is not None
        else None
    )
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.assign_profile(
            session, ctx.actor, user_id, profile_id, validate_only=input.validate_only
        )
    return _payload(outcome)
