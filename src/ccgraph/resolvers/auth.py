"""Signing in and out; the root fields of this domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ccgraph.schema.auth import LoginInput, LoginPayload, LogoutPayload
from ccgraph.schema.errors import UserError
from ccgraph.schema.permissions import signed_in
from ccgraph.schema.users.types import User
from ccgraph.services import auth


async def login(info: Info, input: LoginInput) -> LoginPayload:
    ctx = info.context
    request = ctx.request
    async with ctx.write() as session:
        result = await auth.login(
            session,
            ctx.passwords,
            ctx.settings,
            ctx.box,
            username=input.username,
            password=input.password,
            otp=input.otp,
            user_agent=request.headers.get("user-agent"),
            ip_address=request.client.host if request.client else None,
        )
    if result.user is not None:
        ctx.signed_in_as = result.user.id  # the payload's viewer reads as themselves
    return LoginPayload(
        token=result.token,
        expires_at=result.expires_at,
        viewer=User.from_row(result.user) if result.user else None,
        user_errors=UserError.many(result.errors),
    )


async def logout(info: Info) -> LogoutPayload:
    ctx = info.context
    async with ctx.write() as session:
        await auth.logout(session, ctx.principal)
    return LogoutPayload(ok=True, user_errors=[])


@strawberry.type
class Mutation:
    login: LoginPayload = strawberry.mutation(
        resolver=login, description="Sign in; wrong credentials never say whether the username exists."
    )
    logout: LogoutPayload = strawberry.mutation(
        resolver=logout, extensions=[signed_in()], description="End this session."
    )
