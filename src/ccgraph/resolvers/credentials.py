from __future__ import annotations

from strawberry import relay
from strawberry.types import Info

from ccgraph.resolvers.user_mutations import _payload, _refused
from ccgraph.schema import credentials as c
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import DeletePayload, UserPayload
from ccgraph.schema.user_inputs import decode
from ccgraph.services import credentials as svc


async def user_password_reset(info: Info, input: c.UserPasswordResetInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.reset_password(
            session,
            ctx.passwords,
            ctx.actor,
            user_id,
            input.password,
            input.password_confirmation,
            validate_only=input.validate_only,
        )
    return _payload(outcome)


def _client(info: Info) -> str | None:
    client = info.context.request.client
    return client.host if client else None


async def viewer_password_change(info: Info, input: c.ViewerPasswordChangeInput) -> UserPayload:
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.change_own_password(
            session,
            ctx.passwords,
            ctx.settings,
            ctx.actor,
            input.current_password,
            input.new_password,
            input.new_password_confirmation,
            ip_address=_client(info),
        )
    return _payload(outcome)


async def viewer_mfa_enroll(info: Info, input: c.ViewerMfaEnrollInput) -> c.MfaEnrollPayload:
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.mfa_enroll(
            session,
            ctx.passwords,
            ctx.settings,
            ctx.box,
            ctx.actor,
            input.current_password,
            ip_address=_client(info),
        )
    enrollment = outcome.value
    return c.MfaEnrollPayload(
        secret=enrollment.secret if enrollment else None,
        provisioning_uri=enrollment.provisioning_uri if enrollment else None,
        user_errors=UserError.many(outcome.errors),
    )


async def viewer_mfa_confirm(info: Info, input: c.ViewerMfaConfirmInput) -> UserPayload:
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.mfa_confirm(session, ctx.box, ctx.actor, input.code)
    return _payload(outcome)


async def user_mfa_clear(info: Info, input: c.UserRefInput) -> UserPayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    if errors:
        return _refused(errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.mfa_clear(session, ctx.actor, user_id, validate_only=input.validate_only)
    return _payload(outcome)


async def access_key_create(info: Info, input: c.UserRefInput) -> c.AccessKeyCreatePayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    if errors:
        return c.AccessKeyCreatePayload(access_key=None, secret=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.access_key_create(
            session, ctx.settings, ctx.actor, user_id, validate_only=input.validate_only
        )
    created = outcome.value
    return c.AccessKeyCreatePayload(
        access_key=c.AccessKey.from_row(created.key) if created else None,
        secret=created.secret if created and not input.validate_only else None,
        user_errors=UserError.many(outcome.errors),
    )


async def access_key_deactivate(info: Info, input: c.AccessKeyRefInput) -> c.AccessKeyPayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    if errors:
        return c.AccessKeyPayload(access_key=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.access_key_deactivate(session, ctx.actor, pk, validate_only=input.validate_only)
    return c.AccessKeyPayload(
        access_key=c.AccessKey.from_row(outcome.value) if outcome.value else None,
        user_errors=UserError.many(outcome.errors),
    )


async def access_key_delete(info: Info, input: c.AccessKeyRefInput) -> DeletePayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    if errors:
        return DeletePayload(deleted_id=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.access_key_delete(session, ctx.actor, pk, validate_only=input.validate_only)
    return DeletePayload(
        deleted_id=relay.GlobalID("AccessKey", str(outcome.value)) if outcome.value is not None else None,
        user_errors=UserError.many(outcome.errors),
    )


async def session_revoke(info: Info, input: c.SessionRevokeInput) -> c.SessionPayload:
    errors: list = []
    pk = decode(["id"], input.id, "Session", errors)
    if errors:
        return c.SessionPayload(session=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.session_revoke(session, ctx.actor, pk)
    return c.SessionPayload(
        session=c.Session.from_row(outcome.value, ctx.principal.session_id) if outcome.value else None,
        user_errors=UserError.many(outcome.errors),
    )


async def user_sessions_revoke_all(info: Info, input: c.UserRefInput) -> c.SessionsRevokePayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    if errors:
        return c.SessionsRevokePayload(revoked_count=None, user_errors=UserError.many(errors))
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.sessions_revoke_all(session, ctx.actor, user_id)
    return c.SessionsRevokePayload(revoked_count=outcome.value, user_errors=UserError.many(outcome.errors))
