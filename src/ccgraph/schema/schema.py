"""Assembles the Schema from the root fields each domain contributes (resolvers/<domain>.py),
with its extensions and executor."""

from __future__ import annotations

import copy
import functools
from types import SimpleNamespace
from typing import Annotated, Any, cast

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from ccgraph.config import Settings
from ccgraph.execution.limits import QueryLimits, limits_rule
from ccgraph.execution.planned import GuardedExecutor, PlannedExecutor
from ccgraph.resolvers import (
    access_keys,
    audit,
    auth,
    bulk,
    business_units,
    catalog,
    credentials,
    events,
    skills,
    subscriptions,
    users,
    webhooks,
)
from ccgraph.schema.descriptions import describe_arguments
from ccgraph.schema.events import EVENT_TYPES
from ccgraph.schema.extensions import ErrorPolicy, RequestLifecycle, coded
from ccgraph.schema.node import NODE_KINDS, mark_shown_columns, resolve_node, resolve_nodes
from ccgraph.schema.permissions import document_permissions, mark_read_permissions, signed_in
from ccgraph.schema.users.types import User
from ccgraph.services.pagination import MAX_PAGE_SIZE

DESCRIPTION = (
    "ccgraph administers a contact centre's users and routing catalog (teams, queues, work streams, "
    "presence statuses, skills, user and security profiles) per business unit. Sign in with `login`, "
    "send 'Authorization: Bearer <token>', and start from `viewer`."
)


IDS = f"Global IDs, at most {MAX_PAGE_SIZE}."


@strawberry.type
class Root:
    """The root fields of no domain: who is asking, and any object by its ID."""

    @strawberry.field(description="The signed-in user; null when the request carries no valid token.")
    async def viewer(self, info: Info) -> User | None:
        principal = info.context.principal
        if principal is None:
            return None
        row = await info.context.loaders.user.load(principal.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Any object by its global ID.", extensions=[signed_in()])
    async def node(
        self, info: Info, id: Annotated[relay.GlobalID, strawberry.argument(description="A global ID.")]
    ) -> relay.Node | None:
        return await resolve_node(info, "id", id)

    @strawberry.field(
        description="Objects by their global IDs (at most 100), in the order given: null in place of "
        "an ID that `node(id:)` answers null or an error for, with that error.",
        extensions=[signed_in()],
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description=f"Global IDs, at most {MAX_PAGE_SIZE}.")
        ],
    ) -> list[relay.Node | None]:
        return resolve_nodes(info, "ids", ids)  # type: ignore[return-value]  # awaitables of them


# Each domain contributes its own root fields.
Query = merge_types(
    "Query", (Root, users.Query, catalog.Query, bulk.Query, audit.Query, events.Query, webhooks.Query)
)
Query.__strawberry_definition__.description = "What can be read: start from `viewer`, a list, or `node(id:)`."  # type: ignore[attr-defined]
Mutation = merge_types(
    "Mutation",
    (
        auth.Mutation,
        credentials.Mutation,
        access_keys.Mutation,
        business_units.Mutation,
        bulk.Mutation,
        users.Mutation,
        catalog.Mutation,
        skills.Mutation,
        webhooks.Mutation,
    ),
)
MUTATIONS = "What can be changed: each mutation takes one `input` and returns a payload with `userErrors`."
Mutation.__strawberry_definition__.description = MUTATIONS  # type: ignore[attr-defined]


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """ErrorPolicy logs what is unexpected; errors the client caused are not logged, and
        get their code here (this sees the errors of parsing and validation too)."""
        for error in errors:
            coded(error)


# The settings a schema is built from: two apps whose settings agree on these share one.
SCHEMA_SETTINGS = (
    "production",
    "planned_execution",
    "max_query_tokens",
    "max_query_depth",
    "max_query_aliases",
    "max_query_cost",
)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with the limits and controls of `settings`: query limits always; in
    production also no introspection and no field suggestions.

    Building one takes a tenth of a second, so apps built from the same `SCHEMA_SETTINGS` (the
    tests build one per test) share it; each gets its own shallow copy, whose `extensions` an
    app may replace (tracing adds its span) without touching the others'."""
    settings = settings or Settings()
    return copy.copy(_built(tuple(getattr(settings, name) for name in SCHEMA_SETTINGS)))


@functools.cache
def _built(key: tuple[Any, ...]) -> Schema:
    # Only the key's settings can be read: reading another fails here, not with a stale schema.
    return _build(cast(Settings, SimpleNamespace(**dict(zip(SCHEMA_SETTINGS, key, strict=True)))))


def _build(settings: Settings) -> Schema:
    rule = limits_rule(settings)
    extensions: list[Any] = [
        ErrorPolicy,
        RequestLifecycle,
        lambda: QueryLimits(settings.max_query_tokens, rule),
        # A document seen before is neither parsed nor validated again.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    built = Schema(
        query=Query,
        mutation=Mutation,
        subscription=subscriptions.Subscription,
        types=EVENT_TYPES,  # the events' types, reached through their interface
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        execution_context_class=PlannedExecutor if settings.planned_execution else GuardedExecutor,
    )
    mark_read_permissions(built._schema, NODE_KINDS)
    mark_shown_columns(built._schema)
    # strawberry.Schema takes no description; graphql-core's schema carries it to introspection.
    built._schema.description = DESCRIPTION
    describe_arguments(built._schema)
    document_permissions(built._schema)
    return built
