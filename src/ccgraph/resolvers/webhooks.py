"""Webhooks for partners: the root fields of this domain."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import deleted, paged, shaped, write
from ccgraph.schema import webhooks as w
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import decode
from ccgraph.schema.payloads import DeletePayload
from ccgraph.schema.permissions import requires
from ccgraph.schema.relay import Connection, numbered_pages
from ccgraph.services import webhooks as svc
from ccgraph.services.pagination import PageArgs
from ccgraph.services.writes import Outcome


def _with_secret(validate_only: bool) -> Callable[[Outcome], w.WebhookCreatePayload]:
    def shape(outcome: Outcome) -> w.WebhookCreatePayload:
        made = outcome.value
        return w.WebhookCreatePayload(
            webhook=w.Webhook.from_row(made.endpoint) if made else None,
            signing_secret=made.secret if made and not validate_only else None,
            user_errors=UserError.many(outcome.errors),
        )

    return shape


async def webhook_create(info: Info, input: w.WebhookCreateInput) -> w.WebhookCreatePayload:
    return await write(
        info,
        [],
        lambda session, ctx: svc.create(
            session, ctx.settings, ctx.box, ctx.actor, input.terms(), validate_only=input.validate_only
        ),
        _with_secret(input.validate_only),
    )


async def webhook_update(info: Info, input: w.WebhookUpdateInput) -> w.WebhookPayload:
    errors: list = []
    pk = decode(["id"], input.id, "Webhook", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.update(
            session, ctx.settings, ctx.actor, pk, input.terms(), validate_only=input.validate_only
        ),
        shaped(w.Webhook, "webhook", w.WebhookPayload),
    )


async def webhook_secret_rotate(info: Info, input: w.WebhookRefInput) -> w.WebhookCreatePayload:
    errors: list = []
    pk = decode(["id"], input.id, "Webhook", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.rotate_secret(
            session, ctx.box, ctx.actor, pk, validate_only=input.validate_only
        ),
        _with_secret(input.validate_only),
    )


async def webhook_delete(info: Info, input: w.WebhookRefInput) -> DeletePayload:
    errors: list = []
    pk = decode(["id"], input.id, "Webhook", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.delete(session, ctx.actor, pk, validate_only=input.validate_only),
        deleted("Webhook"),
    )


@numbered_pages
async def webhooks(info: Info, page: PageArgs) -> Connection[w.Webhook]:
    stmt = svc.endpoints_query(info.context.principal)
    return await paged(info, stmt, svc.WEBHOOK_ORDER, page, w.Webhook)


@strawberry.type
class Query:
    webhooks = strawberry.field(
        resolver=webhooks,
        extensions=[requires(P.WEBHOOKS_MANAGE)],
        description="The webhook endpoints of the business units you see, oldest first, each with its "
        "delivery log.",
    )


@strawberry.type
class Mutation:
    webhook_create = strawberry.mutation(
        resolver=webhook_create,
        extensions=[requires(P.WEBHOOKS_MANAGE)],
        description="A webhook endpoint, owned by you and told (by signed POSTs, Standard Webhooks) of "
        "the events of the chosen types that you may see, from now on. Its signing secret is in this "
        "payload and never again.",
    )
    webhook_update = strawberry.mutation(
        resolver=webhook_update,
        extensions=[requires(P.WEBHOOKS_MANAGE)],
        description="Change an endpoint's URL, event types or description, or turn it off or on. "
        "Someone else's endpoint needs every permission its owner holds.",
    )
    webhook_secret_rotate = strawberry.mutation(
        resolver=webhook_secret_rotate,
        extensions=[requires(P.WEBHOOKS_MANAGE)],
        description="A new signing secret for an endpoint, shown once and used from the next delivery "
        "on: the old one no longer verifies.",
    )
    webhook_delete = strawberry.mutation(
        resolver=webhook_delete,
        extensions=[requires(P.WEBHOOKS_MANAGE)],
        description="Delete an endpoint and its delivery log; what was not delivered is not.",
    )
