"""What every resolver shares: the skeleton of a mutation, and a root connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from ccgraph.context import Context
from ccgraph.execution.prefetch import prefetch
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import DeletePayload, field_changes
from ccgraph.schema.relay import Connection
from ccgraph.services import pagination
from ccgraph.services.errors import UserError as ServiceError
from ccgraph.services.pagination import Ordering, PageArgs
from ccgraph.services.writes import Outcome

P = TypeVar("P")


async def write(
    info: Info,
    errors: list[ServiceError],
    call: Callable[[AsyncSession, Context], Awaitable[Outcome[Any]]],
    payload: Callable[[Outcome[Any]], P],
) -> P:
    """A mutation: errors found in its input (bad IDs) answer at once, with no transaction;
    else `call` runs the use case in the request's write transaction, and `payload` shapes
    its outcome. A mutation given `validateOnly: true` runs in a session that cannot commit,
    whether or not the use case was told."""
    if errors:
        return payload(Outcome(None, errors))
    ctx = info.context
    async with ctx.write(dry=validate_only(info), changes=selects_changes(info)) as session:
        outcome = await call(session, ctx)
    return payload(outcome)


def validate_only(info: Info) -> bool:
    """Whether the mutation's `input` asks for a dry run (variables resolved)."""
    field = info.selected_fields[0]
    given = field.arguments.get("input") if isinstance(field, SelectedField) else None
    return bool(isinstance(given, dict) and given.get("validateOnly"))


def selects_changes(info: Info) -> bool:
    """Whether the mutation's payload asks for `changes` anywhere (rows' changes included)."""

    def asks(selections: list[Any]) -> bool:
        return any(
            getattr(s, "name", None) == "changes" or asks(getattr(s, "selections", [])) for s in selections
        )

    return asks(info.selected_fields)


def shaped(node: Any, field: str, payload: Callable[..., P]) -> Callable[[Outcome[Any]], P]:
    """The payload of a mutation that writes one `node`: the node under `field`, and the errors."""

    def shape(outcome: Outcome[Any]) -> P:
        row = outcome.value
        return payload(
            **{field: node.from_row(row) if row is not None else None},
            user_errors=UserError.many(outcome.errors),
            changes=field_changes(outcome, type(row).__name__, row.id) if row is not None else [],
        )

    return shape


def deleted(type_name: str) -> Callable[[Outcome[Any]], DeletePayload]:
    """The payload of a delete: the deleted object's global ID, and the errors."""

    def shape(outcome: Outcome[Any]) -> DeletePayload:
        pk = outcome.value
        return DeletePayload(
            deleted_id=relay.GlobalID(type_name, str(pk)) if pk is not None else None,
            user_errors=UserError.many(outcome.errors),
            changes=field_changes(outcome, type_name, pk) if pk is not None else [],
        )

    return shape


async def paged(
    info: Info,
    stmt: Select[Any],
    ordering: Ordering,
    page: PageArgs,
    node: Any,
    total_of: Select[Any] | None = None,
) -> Connection:
    """A root connection of `node`s: one statement for the page (a numbered one too), one for
    the total when `totalCount` or `pageInfo.pageCount` asks (counted once for both), and what
    the query selects under the page's nodes loaded for all of them at once. `total_of`, when
    given, reads the total (one number) instead of counting `stmt`'s rows."""
    ctx = info.context
    async with ctx.db() as session:
        found = await pagination.fetch_page(session, stmt, ordering, page, ctx.unread)
    await prefetch(info, node, found.rows)
    counted: asyncio.Task[int] | None = None

    async def count() -> int:
        async with ctx.db() as session:
            if total_of is not None:
                return int((await session.execute(total_of)).scalar_one())
            return await pagination.count(session, stmt)

    def total() -> Awaitable[int]:
        nonlocal counted
        if counted is None:
            counted = asyncio.ensure_future(count())
        return counted

    return Connection.of(found, node.from_row, total)
