"""Credentials: passwords, MFA, sessions and access keys; the root fields of this domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import write
from ccgraph.resolvers.users import user_payload
from ccgraph.schema import credentials as c
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import decode
from ccgraph.schema.permissions import requires, signed_in
from ccgraph.schema.users.types import UserPayload
from ccgraph.services import credentials as svc
from ccgraph.services.writes import Outcome


async def user_password_reset(info: Info, input: c.UserPasswordResetInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.reset_password(
            session,
            ctx.passwords,
            ctx.actor,
            user_id,
            input.password,
            input.password_confirmation,
            validate_only=input.validate_only,
        ),
        user_payload,
    )


def _client(info: Info) -> str | None:
    client = info.context.request.client
    return client.host if client else None


async def viewer_password_change(info: Info, input: c.ViewerPasswordChangeInput) -> UserPayload:
    return await write(
        info,
        [],
        lambda session, ctx: svc.change_own_password(
            session,
            ctx.passwords,
            ctx.settings,
            ctx.actor,
            input.current_password,
            input.new_password,
            input.new_password_confirmation,
            ip_address=_client(info),
        ),
        user_payload,
    )


def _enrollment(outcome: Outcome) -> c.MfaEnrollPayload:
    enrollment = outcome.value
    return c.MfaEnrollPayload(
        secret=enrollment.secret if enrollment else None,
        provisioning_uri=enrollment.provisioning_uri if enrollment else None,
        user_errors=UserError.many(outcome.errors),
    )


async def viewer_mfa_enroll(info: Info, input: c.ViewerMfaEnrollInput) -> c.MfaEnrollPayload:
    return await write(
        info,
        [],
        lambda session, ctx: svc.mfa_enroll(
            session,
            ctx.passwords,
            ctx.settings,
            ctx.box,
            ctx.actor,
            input.current_password,
            ip_address=_client(info),
        ),
        _enrollment,
    )


async def viewer_mfa_confirm(info: Info, input: c.ViewerMfaConfirmInput) -> UserPayload:
    return await write(
        info, [], lambda session, ctx: svc.mfa_confirm(session, ctx.box, ctx.actor, input.code), user_payload
    )


async def user_mfa_clear(info: Info, input: c.UserRefInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.mfa_clear(session, ctx.actor, user_id, validate_only=input.validate_only),
        user_payload,
    )


async def session_revoke(info: Info, input: c.SessionRevokeInput) -> c.SessionPayload:
    errors: list = []
    pk = decode(["id"], input.id, "Session", errors)

    def revoked(outcome: Outcome) -> c.SessionPayload:
        row = outcome.value
        return c.SessionPayload(
            session=c.Session.from_row(row, info.context.principal.session_id) if row else None,
            user_errors=UserError.many(outcome.errors),
        )

    return await write(info, errors, lambda session, ctx: svc.session_revoke(session, ctx.actor, pk), revoked)


async def user_sessions_revoke_all(info: Info, input: c.UserRefInput) -> c.SessionsRevokePayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.sessions_revoke_all(
            session, ctx.actor, user_id, validate_only=input.validate_only
        ),
        lambda outcome: c.SessionsRevokePayload(
            revoked_count=outcome.value, user_errors=UserError.many(outcome.errors)
        ),
    )


@strawberry.type
class Mutation:
    viewer_password_change = strawberry.mutation(
        resolver=viewer_password_change,
        extensions=[signed_in()],
        description="Set a new password (required after a reset); your other sessions end.",
    )
    viewer_mfa_enroll = strawberry.mutation(
        resolver=viewer_mfa_enroll,
        extensions=[signed_in()],
        description="Start TOTP enrollment: returns the secret and its otpauth:// URI once.",
    )
    viewer_mfa_confirm = strawberry.mutation(
        resolver=viewer_mfa_confirm,
        extensions=[signed_in()],
        description="Activate MFA with a current code; from then on login needs `otp`.",
    )
    session_revoke = strawberry.mutation(
        resolver=session_revoke,
        extensions=[signed_in()],
        description="End a session: your own, or anyone's with USERS_EDIT.",
    )
    user_password_reset = strawberry.mutation(
        resolver=user_password_reset,
        extensions=[requires(P.USERS_EDIT)],
        description="Reset a password (typed, or generated and mailed as the security profile says); "
        "every session of the user ends and they must change it at the next sign-in.",
    )
    user_mfa_clear = strawberry.mutation(
        resolver=user_mfa_clear,
        extensions=[requires(P.USERS_EDIT)],
        description="Clear a user's MFA secret so that they enroll again.",
    )
    user_sessions_revoke_all = strawberry.mutation(
        resolver=user_sessions_revoke_all,
        extensions=[requires(P.USERS_EDIT)],
        description="End every session of a user.",
    )
