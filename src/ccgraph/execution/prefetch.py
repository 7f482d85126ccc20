"""Relations declared next to their fields, and the page prefetch that reads the declarations.

A field whose value comes from a per-request loader declares it once, as a `Related` in the
field's metadata (`needs(...)`): which loader, and how the key is made from the node's row and
the field's arguments. The resolver reads its value through the same `Related`; when a page of
nodes is resolved, `prefetch` walks what the query selects under the page's nodes, reads the
declarations of those fields and loads each relation for the whole page at once (one call of
the loader's batch function per relation). The nested resolvers then find their values in the
loaders and answer synchronously, which graphql-core completes far faster than awaiting. A
resolver whose value is not there (a node fetched alone, say) loads it as before: the answer
is the same either way, only the cost differs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLObjectType, InlineFragmentNode, SelectionSetNode
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from ccgraph.loaders import DataLoader

MISSING: Any = object()
NEEDS = "ccgraph.needs"  # the key of the declarations in a field's metadata


def peek(loader: DataLoader[Any, Any], key: Any) -> Any:
    """The loader's value for `key` if it has it already, else MISSING."""
    value = loader.ready.get(key, MISSING)
    if value is not MISSING or not loader.cache:
        return value
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        return MISSING
    return future.result()


async def _then(awaitable: Awaitable[Any], convert: Callable[[Any], Any]) -> Any:
    return convert(await awaitable)


@dataclass(frozen=True, eq=False)
class Related:
    """A value that comes from the per-request loader `loader` (an attribute of `Loaders`).

    `key(row, **arguments)` is its key for one node's row and the field's arguments (as the
    resolver receives them); with `via`, `key` is given the value `via` loaded instead of the
    row. `many`: the value is a list (none for a null key). `when`: needed only when the
    field's selection asks for this subfield (e.g. `totalCount`)."""

    loader: str
    key: Callable[..., Hashable | None]
    many: bool = False
    via: Related | None = None
    when: str | None = None

    def source(self, info: Info) -> DataLoader[Any, Any]:
        return getattr(info.context.loaders, self.loader)

    def key_of(self, info: Info, row: Any, arguments: Mapping[str, Any], base: Any = MISSING) -> Any:
        """The key for `row`; MISSING when it hangs on a `via` value not loaded yet (`base`:
        that value, when the caller has it already)."""
        if self.via is None:
            return self.key(row, **arguments)
        if base is MISSING:
            base = self.via.cached(info, row, arguments)
            if base is MISSING:
                return MISSING
        return None if base is None else self.key(base)

    def cached(
        self, info: Info, row: Any, arguments: Mapping[str, Any] | None = None, base: Any = MISSING
    ) -> Any:
        """The value if the loader has it already, else MISSING. (A page's effective settings
        ask this a thousand times: `key_of` and `peek` are written out.)"""
        if self.via is None:
            key = self.key(row, **arguments) if arguments else self.key(row)
        else:
            if base is MISSING:
                base = self.via.cached(info, row, arguments)
                if base is MISSING:
                    return MISSING
            key = None if base is None else self.key(base)
        if key is None:
            return [] if self.many else None
        loader = getattr(info.context.loaders, self.loader)
        value = loader.ready.get(key, MISSING)
        return value if value is not MISSING else peek(loader, key)

    async def load(self, info: Info, row: Any, arguments: Mapping[str, Any] | None = None) -> Any:
        arguments = arguments or {}
        if self.via is None:
            key = self.key(row, **arguments)
        else:
            base = await self.via.load(info, row, arguments)
            key = None if base is None else self.key(base)
        if key is None:
            return [] if self.many else None
        return await self.source(info).load(key)

    def get(self, info: Info, row: Any, convert: Callable[[Any], Any], **arguments: Any) -> Any:
        """`convert(value)` for `row`, now or as an awaitable; a missing single value stays
        None (not converted), a missing list is converted as empty. (Every relation field of
        every row of a page comes here: the common case is written out.)"""
        if self.via is None:
            key = self.key(row, **arguments)
            if key is None:
                return convert([]) if self.many else None
            loader = getattr(info.context.loaders, self.loader)
            value = loader.ready.get(key, MISSING)
            if value is MISSING:
                value = peek(loader, key)
        else:
            value = self.cached(info, row, arguments)
        if value is MISSING:
            return _then(self.load(info, row, arguments), lambda v: _convert(self, v, convert))
        if value is None and not self.many:
            return None
        return convert(value)

    async def value(self, info: Info, row: Any, convert: Callable[[Any], Any], **arguments: Any) -> Any:
        """`get`, awaited: for async resolvers (those a permission check guards)."""
        found = self.get(info, row, convert, **arguments)
        return await found if isinstance(found, Awaitable) else found


def _convert(relation: Related, value: Any, convert: Callable[[Any], Any]) -> Any:
    if value is None and not relation.many:
        return None
    return convert(value)


def needs(*relations: Related) -> dict[str, tuple[Related, ...]]:
    """Field metadata: the relations the field's resolver reads."""
    return {NEEDS: relations}


def cached_all(info: Info, row: Any, relations: Iterable[Related]) -> list[Any]:
    """The values of `relations` for `row` that the loaders have (MISSING for the others); a
    relation `via` another listed before it is keyed from the value found for that one."""
    found: dict[Related, Any] = {}
    for relation in relations:
        base = found.get(relation.via, MISSING) if relation.via is not None else MISSING
        found[relation] = relation.cached(info, row, None, base)
    return list(found.values())


async def ready(info: Info, row: Any, relations: Iterable[Related]) -> list[Any]:
    """The values of `relations` for `row`, loading those the loaders do not have yet."""
    relations = list(relations)
    values = [r.cached(info, row) for r in relations]
    missing = [i for i, v in enumerate(values) if v is MISSING]
    if missing:
        loaded = await asyncio.gather(*(relations[i].load(info, row) for i in missing))
        for i, value in zip(missing, loaded, strict=True):
            values[i] = value
    return values


# --- the page prefetch -------------------------------------------------------------------


def _fields(info: Info, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
    """The fields of a selection set, with those of its fragments (named or inline)."""
    for part in selection_set.selections if selection_set else ():
        if isinstance(part, FieldNode):
            yield part
        elif isinstance(part, InlineFragmentNode):
            yield from _fields(info, part.selection_set)
        elif isinstance(part, FragmentSpreadNode):
            fragment = info._raw_info.fragments.get(part.name.value)
            if fragment is not None:
                yield from _fields(info, fragment.selection_set)


def _node_fields(info: Info) -> list[FieldNode]:
    """The fields selected under the connection's `edges { node { ... } }` and `nodes`."""
    found: list[FieldNode] = []
    for field in info._raw_info.field_nodes:
        for part in _fields(info, field.selection_set):
            if part.name.value == "nodes":
                found.extend(_fields(info, part.selection_set))
            elif part.name.value == "edges":
                for sub in _fields(info, part.selection_set):
                    if sub.name.value == "node":
                        found.extend(_fields(info, sub.selection_set))
    return found


def declared(info: Info, node_type: type) -> dict[str, StrawberryField]:
    """The fields of a Strawberry type that declare relations, by their GraphQL name."""
    convert = info.schema.config.name_converter
    return {
        convert.get_graphql_name(f): f
        for f in node_type.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if f.metadata and NEEDS in f.metadata
    }


def _arguments(info: Info, graphql_type: GraphQLObjectType, field: StrawberryField, node: FieldNode) -> Any:
    """The field's arguments as its resolver receives them; MISSING when they do not coerce
    (the field's own resolver will report that)."""
    try:
        # Strawberry's resolve info carries the coerced variables as a plain dict, graphql-core's
        # as its VariableValues.
        given: Any = info._raw_info.variable_values
        variables = given if isinstance(given, VariableValues) else VariableValues(sources={}, coerced=given)
        coerced = get_argument_values(graphql_type.fields[node.name.value], node, variables)
        arguments = convert_arguments(
            coerced, field.arguments, info.schema.schema_converter.scalar_registry, info.schema.config
        )
        # A resolver that takes its arguments reshaped (see schema.relay.paginated) says how.
        receives = getattr(field.base_resolver and field.base_resolver.wrapped_func, "receives", None)
        return receives(arguments) if receives else arguments
    except Exception:
        return MISSING


def wanted(info: Info, node_type: type) -> list[tuple[Related, dict[str, Any]]]:
    """Every relation the selection under the page's nodes will read, with its arguments."""
    fields = declared(info, node_type)
    graphql_type = info._raw_info.schema.get_type(node_type.__strawberry_definition__.name)  # type: ignore[attr-defined]
    assert isinstance(graphql_type, GraphQLObjectType)
    plan: list[tuple[Related, dict[str, Any]]] = []
    for node in _node_fields(info):
        field = fields.get(node.name.value)
        if field is None:
            continue
        arguments = _arguments(info, graphql_type, field, node)
        if arguments is MISSING:
            continue
        asked = {sub.name.value for sub in _fields(info, node.selection_set)}
        for relation in field.metadata[NEEDS]:
            if relation.when is None or relation.when in asked:
                chain: Related | None = relation
                while chain is not None:  # what a relation is keyed `via` is loaded too
                    plan.append((chain, arguments))
                    chain = chain.via
    return plan


async def _fill(loader: DataLoader[Any, Any], keys: list[Any]) -> None:
    """What `load_many` would do for keys all wanted at once: one call of the batch function,
    its values kept in `ready` (a value that is an error is left for the field to load, and
    report, itself)."""
    values = await loader.load_fn(keys)
    loader.ready.update(
        (key, value) for key, value in zip(keys, values, strict=True) if not isinstance(value, BaseException)
    )


async def prefetch(info: Info, node_type: type, rows: Sequence[Any]) -> None:
    """Load what the page's nodes will be asked for, for all of them at once: in waves, as a
    relation `via` another can be keyed only once the other is loaded. A wave's loads run one
    after the other: they share the request's one session, which takes one at a time anyway,
    and a task each would only add its scheduling."""
    if not rows or not info.context.settings.dataloaders:
        return
    waiting = wanted(info, node_type)
    while waiting:
        keys: dict[str, dict[Hashable, None]] = {}
        later = []
        for relation, arguments in waiting:
            found = keys.setdefault(relation.loader, {})
            if relation.via is None:  # every row's key, now
                found.update(dict.fromkeys([relation.key(row, **arguments) for row in rows]))
                found.pop(None, None)
                continue
            for row in rows:
                key = relation.key_of(info, row, arguments)
                if key is MISSING:
                    later.append((relation, arguments))
                    break
                if key is not None:
                    found[key] = None
        loads = []
        for name, found in keys.items():
            loader = getattr(info.context.loaders, name)
            ready = loader.ready
            fresh = [k for k in found if k not in ready and peek(loader, k) is MISSING]
            if fresh:
                loads.append((loader, fresh))
        if not loads and len(later) == len(waiting):
            return
        for loader, fresh in loads:
            await _fill(loader, fresh)
        waiting = later
