"""Access keys for partner integrations: the root fields of this domain."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import deleted, shaped, write
from ccgraph.schema import access_keys as k
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import decode
from ccgraph.schema.payloads import DeletePayload
from ccgraph.schema.permissions import requires
from ccgraph.services import access_keys as svc
from ccgraph.services.writes import Outcome


def _created(validate_only: bool) -> Callable[[Outcome], k.AccessKeyCreatePayload]:
    def created(outcome: Outcome) -> k.AccessKeyCreatePayload:
        key = outcome.value
        return k.AccessKeyCreatePayload(
            access_key=k.AccessKey.from_row(key.key) if key else None,
            secret=key.secret if key and not validate_only else None,
            user_errors=UserError.many(outcome.errors),
        )

    return created


async def access_key_create(info: Info, input: k.AccessKeyCreateInput) -> k.AccessKeyCreatePayload:
    errors: list = []
    user_id = decode(["userId"], input.user_id, "User", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.create(
            session, ctx.settings, ctx.actor, user_id, input.terms(), validate_only=input.validate_only
        ),
        _created(input.validate_only),
    )


async def access_key_rotate(info: Info, input: k.AccessKeyRefInput) -> k.AccessKeyCreatePayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.rotate(
            session, ctx.settings, ctx.actor, pk, validate_only=input.validate_only
        ),
        _created(input.validate_only),
    )


async def access_key_update(info: Info, input: k.AccessKeyUpdateInput) -> k.AccessKeyPayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.update(
            session, ctx.actor, pk, input.terms(), validate_only=input.validate_only
        ),
        shaped(k.AccessKey, "access_key", k.AccessKeyPayload),
    )


async def access_key_activate(info: Info, input: k.AccessKeyRefInput) -> k.AccessKeyPayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.activate(
            session, ctx.settings, ctx.actor, pk, validate_only=input.validate_only
        ),
        shaped(k.AccessKey, "access_key", k.AccessKeyPayload),
    )


async def access_key_deactivate(info: Info, input: k.AccessKeyRefInput) -> k.AccessKeyPayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.deactivate(session, ctx.actor, pk, validate_only=input.validate_only),
        shaped(k.AccessKey, "access_key", k.AccessKeyPayload),
    )


async def access_key_delete(info: Info, input: k.AccessKeyRefInput) -> DeletePayload:
    errors: list = []
    pk = decode(["id"], input.id, "AccessKey", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.delete(session, ctx.actor, pk, validate_only=input.validate_only),
        deleted("AccessKey"),
    )


@strawberry.type
class Mutation:
    access_key_create = strawberry.mutation(
        resolver=access_key_create,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="A new access key, optionally named, scoped and expiring; its secret is in this "
        "payload and never again. At most 2 active per user.",
    )
    access_key_rotate = strawberry.mutation(
        resolver=access_key_rotate,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="A successor to a key, with its name, description, scopes and expiry, and a new "
        "secret shown once. The old key keeps working until you deactivate it: switch the partner "
        "over, then deactivate the old one.",
    )
    access_key_update = strawberry.mutation(
        resolver=access_key_update,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="Rename or describe a key, change its scopes (within its user's permissions) or "
        "its expiry.",
    )
    access_key_activate = strawberry.mutation(
        resolver=access_key_activate,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="Reactivate a deactivated key (not an expired one), within the limit of active keys.",
    )
    access_key_deactivate = strawberry.mutation(
        resolver=access_key_deactivate,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="Stop a key signing requests in, at once, with the tokens issued to it.",
    )
    access_key_delete = strawberry.mutation(
        resolver=access_key_delete,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="Delete a key for good; the tokens issued to it end.",
    )
