"""Global object identification: `node(id:)`, `nodes(ids:)` and the typed look-ups built on it.

Each node type registers the permission that guards it and the loader that fetches it; a
node of another business unit reads as null unless the caller may see other units."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from graphql import GraphQLSchema
from strawberry import UNSET, relay
from strawberry.types import Info
from strawberry.types.arguments import convert_argument

from ccgraph.enums import Permission
from ccgraph.execution.columns import SHOWS, Shows
from ccgraph.schema.errors import forbidden
from ccgraph.schema.permissions import RequiresPermission, signed_in_principal
from ccgraph.services import authority
from ccgraph.services.errors import InputError, UserError
from ccgraph.services.pagination import MAX_PAGE_SIZE
from ccgraph.services.scope import can_see

N = TypeVar("N")


@dataclass(frozen=True, slots=True)
class NodeKind:
    permission: Permission
    loader: str
    convert: Callable[[Any], Any]
    business_unit_id: Callable[[Any], int]
    self_readable: bool = False
    shows: Shows | None = None  # the columns only its fields show (execution.columns)


NODE_KINDS: dict[str, NodeKind] = {}


def node_type(
    model: Any,
    loader: str,
    business_unit_attr: str = "business_unit_id",
    shows: Mapping[str, Sequence[str]] | None = None,
    unread: Sequence[str] = (),
):
    """Class decorator: register a Strawberry node type (it must have `from_row`) for the rows
    of `model`, with the permission that guards reading them by `node(id:)` or any other field
    (`authority.READ`). The type carries it as `@requiresPermission` in the SDL.

    `shows`: the model's columns that only the type's fields show (GraphQL field name -> the
    columns it reads), and `unread`, the columns nothing reads: a request whose operation
    selects none of those fields leaves them unread (execution.columns). Only columns that
    nothing else reads belong here, no key and nothing a rule decides on."""
    permission = authority.READ[model]
    self_readable = model is authority.SELF_READABLE

    def register(cls: type[N]) -> type[N]:
        NODE_KINDS[cls.__name__] = NodeKind(
            permission=permission,
            loader=loader,
            convert=cls.from_row,  # type: ignore[attr-defined]
            business_unit_id=lambda row: getattr(row, business_unit_attr),
            self_readable=self_readable,
            shows=(
                Shows(model, {f: tuple(c) for f, c in (shows or {}).items()}, tuple(unread))
                if shows or unread
                else None
            ),
        )
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        directive = RequiresPermission(permissions=[permission], or_self=True if self_readable else UNSET)
        definition.directives = [*(definition.directives or ()), directive]
        return cls

    return register


def mark_shown_columns(schema: GraphQLSchema) -> None:
    """Put on each node type what its fields show (`Shows`), where the executor reads it."""
    for name, kind in NODE_KINDS.items():
        if kind.shows is not None:
            type_ = schema.type_map[name]
            type_.extensions = {**type_.extensions, SHOWS: kind.shows}


def decode_id(argument: str, value: relay.GlobalID | str, expected: str | None = None) -> tuple[str, int]:
    """A global ID's type name and database id, or a BAD_USER_INPUT error naming the argument."""
    try:
        gid = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
        type_name, pk = gid.type_name, int(gid.node_id)
    except (ValueError, TypeError) as exc:
        raise InputError(argument, "is not a valid ID") from exc
    if expected is not None and type_name != expected:
        raise InputError(argument, f"is the ID of a {type_name}, not of a {expected}")
    return type_name, pk


NOT_DECODED = 0  # what `decode` gives for a bad ID: its error stops the mutation before any use


def decode(field: list[str], value: Any, type_name: str, errors: list[UserError]) -> int:
    """`decode_id` for an ID inside a mutation's input: a bad one becomes an INVALID_ID user
    error at `field`, collected in `errors` so that all are reported at once (and the use case
    never runs: see resolvers/common.write)."""
    try:
        return decode_id(field[-1], value, type_name)[1]
    except InputError as exc:
        errors.append(UserError(field, "INVALID_ID", str(exc)))
        return NOT_DECODED


async def resolve_node(info: Info, argument: str, value: relay.GlobalID, expected: str | None = None) -> Any:
    principal = signed_in_principal(info)
    type_name, pk = decode_id(argument, value, expected)
    kind = NODE_KINDS.get(type_name)
    if kind is None:
        raise InputError(argument, f"objects of type {type_name!r} cannot be fetched by ID")
    if not principal.has(kind.permission):
        raise forbidden([kind.permission])
    row = await getattr(info.context.loaders, kind.loader).load(pk)
    if row is None or not can_see(principal, kind.business_unit_id(row)):
        return None
    return kind.convert(row)


def resolve_nodes(info: Info, argument: str, values: Sequence[str]) -> list[Awaitable[Any]]:
    """`resolve_node` for each ID, in order, at most a page of them: each is an awaitable that
    graphql-core completes on its own, so an ID that `node(id:)` answers with null or an error
    (malformed, unknown, refused) is null in its place, with that error, and the rest stay. The
    IDs come as strings, converted one by one as Strawberry converts `node`'s. The loads of one
    type start together and are one statement (the loaders batch them)."""
    if len(values) > MAX_PAGE_SIZE:
        raise InputError(argument, f"at most {MAX_PAGE_SIZE} IDs may be asked for at once, not {len(values)}")
    registry = info.schema.schema_converter.scalar_registry

    async def one(value: str) -> Any:
        gid = convert_argument(value, relay.GlobalID, registry, info.schema.config)
        return await resolve_node(info, argument, cast(relay.GlobalID, gid))

    return [one(value) for value in values]
