"""The planned executor: graphql-core's executor, with the fields that only read an attribute
completed in a tight loop.

Most of a nested page is plain data: `name`, `source`, `proficiency`, `edges`, `node`. For
each such field graphql-core builds a resolve info, a response path, calls Strawberry's
default resolver and walks `complete_value` through its wrappers one call per level. Here an
object's selection is compiled once per request into a plan, one step per response key:

- a *resolver* step is any field with a resolver, arguments or extensions (permissions): it
  goes through graphql-core's own `execute_field`, unchanged;
- an *attribute* step is a Strawberry field without any of those (`is_basic_field`): its value
  is `getattr(source, python_name)`, exactly what Strawberry's default resolver returns, and it
  is completed by a completer compiled for its type (non-null, list, leaf, object).

An object whose whole selection is attribute steps (of leaves, of such objects, of lists of
them) is completed in one call of a function generated for the selection (`direct`), which
falls back to the steps for any value it does not expect.

The completers keep graphql-core's rules and messages: null in a non-null field, a leaf that
does not serialize, a non-iterable list, `is_type_of`; errors are located at the same path and
nulled at the same nullable parent. Anything unusual (an awaitable value, an async iterable,
an abstract type, middleware, incremental delivery) is handed back to graphql-core. The suite
runs on both executors (`CCGRAPH_PLANNED_EXECUTION`), so a difference in results, errors or
permission checks fails a test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from functools import cached_property, partial
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    TypeNameMetaFieldDef,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    specified_scalar_types,
)
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, Undefined, is_iterable
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info as StrawberryInfo
from strawberry.types.arguments import convert_arguments

from ccgraph.execution import columns, direct

if TYPE_CHECKING:
    from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
    from graphql.execution.incremental.incremental_executor import DeliveryGroupMap
    from strawberry import Schema
    from strawberry.types import Info
    from strawberry.types.base import StrawberryObjectDefinition
    from strawberry.types.field import StrawberryField
    from strawberry.types.fields.resolver import StrawberryResolver

# Strawberry's field (StrawberryField) or type (StrawberryObjectDefinition) behind a graphql-core one
DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
Complete = Callable[[Any, Path], Any]  # (value, path) -> the completed value, or an awaitable of it
RawInfo = Callable[[], GraphQLResolveInfo[Any]]  # builds the field's resolve info, when asked
Resolve = Callable[[Any, RawInfo], Any]  # (source, its resolve info's builder) -> the field's value
PLAIN = frozenset({str, int, float, bool})  # never awaitable, never an exception
SETTLED = frozenset({dict, list, type(None), str, int, float, bool})  # a completed value
MAX_INT, MIN_INT = 2**31 - 1, -(2**31)  # the specification's Int: 32-bit signed
# Built-in scalars whose serialization returns a value of this type unchanged.
VERBATIM: dict[GraphQLScalarType | None, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _never_awaitable(kind: type) -> bool:
    """Whether no value of `kind` can be awaited: a Strawberry object type or an enum without
    `__await__` (graphql-core's test, asked of the type instead of each value)."""
    return (
        (hasattr(kind, "__strawberry_definition__") or issubclass(kind, Enum))
        and not hasattr(kind, "__await__")
        and not issubclass(kind, CoroutineType | GeneratorType)
    )


class Step(NamedTuple):
    """One response key of a selection: `complete` None hands it to graphql-core's
    `execute_field`; otherwise its value is `resolve(source, info)`, or the attribute when
    there is no resolver, and `complete` completes it. `scalar` marks an attribute of a
    built-in scalar type, completed inline when it is a plain value."""

    key: str
    details: FieldDetailsList
    field_def: GraphQLField
    nodes: list[FieldNode]
    complete: Complete | None
    attribute: str
    resolve: Resolve | None
    scalar: GraphQLScalarType | None


# A GraphQL type extension the schema sets (schema/permissions.py): given the request's context,
# the check every object of the type must pass, or None when all may be read.
READ_GUARD = "ccgraph-read-guard"
Guard = Callable[[Any], None]


class GuardedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with authorization that follows the object: wherever an object
    of a guarded type is completed (root field, `node`, a nested relation, a payload), the
    caller must hold the type's read permission (the `READ_GUARD` the schema puts on the type). The guard is
    decided once per type and request; a caller who holds the permission pays nothing more."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_guards: dict[str, Guard | None] = {}
        context = self.context_value
        if getattr(context, "per_request", False) is True:  # (see Context.leave_unread)
            context.leave_unread(columns.unshown(self.schema, self.operation, self.fragments))

    def build_per_event_executor(self, payload: Any) -> Any:
        """A subscription's event runs in graphql-core's copy of the subscription's executor,
        which shares what the executor caches for one execution: each event starts it afresh
        (`start_event`)."""
        executor = cast(GuardedExecutor, super().build_per_event_executor(payload))
        executor.start_event()
        return executor

    def start_event(self) -> None:
        """What an execution caches, afresh for an event: the subfields collected, keyed by the
        ids of the event's own field lists (kept, they would grow with every event of a
        subscription that stays open), and the read guards, decided for the context's caller,
        whom a subscription reads again at each delivery (ccgraph.websocket)."""
        self._relevant_sub_fields = {}
        self._read_guards = {}

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """The response; what the execution cached goes with it. Its closures refer to this
        executor, which refers to them: left in place, each request would leave a cycle for the
        garbage collector to find (some 1,300 objects holding 7,500 blocks a page)."""
        response = super().build_response(data)
        self.start_event()
        return response

    def read_guard(self, return_type: GraphQLObjectType) -> Guard | None:
        name = return_type.name
        if name not in self._read_guards:
            factory = return_type.extensions.get(READ_GUARD)
            self._read_guards[name] = factory(self.context_value) if factory is not None else None
        return self._read_guards[name]

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: DeliveryGroupMap | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        guard = self.read_guard(return_type)
        if guard is not None:
            guard(result)
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )


class PlannedExecutor(GuardedExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[int, tuple[GroupedFieldSet, list[Step]]] = {}
        manager = self.middleware_manager
        self._plain = not (manager and manager.middlewares)
        # Types whose values are never awaitable: the plain ones, and each Strawberry object
        # type once one of its values was found not to be (see `_run`).
        self._settled: set[type] = set(SETTLED)
        # the direct completion of a type's selection (see ccgraph.execution.direct), by the
        # type's name and the id of the field details it is selected by (kept alive with it)
        self._directs: dict[tuple[str, int], tuple[FieldDetailsList, direct.Direct | None]] = {}

    def start_event(self) -> None:
        GuardedExecutor.start_event(self)
        self._plans = {}
        self._directs = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: DeliveryGroupMap | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if position_context is not None or not self._plain:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run(parent_type, source_value, path, self._plan(parent_type, grouped_field_set))

    def _run(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, plan: list[Step]
    ) -> AwaitableOrValue[dict[str, Any]]:
        """execute_fields, step by step."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        complete_leaf = self.complete_leaf_value
        parent_name = parent_type.name
        settled = self._settled
        never_awaitable = _never_awaitable
        result: Any
        try:
            for key, details, field_def, nodes, complete, attribute, resolve, scalar in plan:
                if scalar is not None:  # a built-in scalar read as a plain value: completed here
                    try:
                        value = getattr(source_value, attribute)
                        kind = type(value)
                        if kind is VERBATIM.get(scalar) or (
                            kind is int and scalar is GraphQLInt and MIN_INT <= value <= MAX_INT
                        ):  # what serializing it would give back unchanged
                            results[key] = value
                            continue
                        if kind in PLAIN:
                            results[key] = complete_leaf(scalar, value)
                            continue
                    except Exception as raw_error:
                        field_path = Path(path, key, parent_name)
                        self.handle_field_error(raw_error, field_def.type, details, field_path)
                        results[key] = None
                        continue
                field_path = Path(path, key, parent_name)
                if complete is None:
                    result = self.execute_field(parent_type, source_value, details, field_path, None)
                    if result is Undefined:
                        continue
                    pending = is_awaitable(result)
                else:
                    try:
                        if resolve is not None:
                            value = resolve(
                                source_value,
                                partial(self.build_resolve_info, field_def, nodes, parent_type, field_path),
                            )
                        elif scalar is None:  # (a scalar's value was read above)
                            value = getattr(source_value, attribute)
                        deferred = type(value) not in settled and is_awaitable(value)
                        if not deferred:
                            if type(value) not in settled and never_awaitable(type(value)):
                                settled.add(type(value))  # asked once per type and request
                            result = complete(value, field_path)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, field_def.type, details, field_path)
                        result, pending = None, False
                    else:
                        if deferred:  # graphql-core awaits and completes it
                            if resolve is None:
                                result = self.execute_field(
                                    parent_type, source_value, details, field_path, None
                                )
                            else:
                                info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
                                result = self.complete_awaitable_value(
                                    field_def.type, details, info, field_path, value, None
                                )
                            pending = is_awaitable(result)
                        elif type(result) in SETTLED or not is_awaitable(result):
                            pending = False
                        else:
                            result = self._await_completed(result, field_def.type, details, field_path)
                            pending = True
                results[key] = result
                if pending:
                    awaitable_fields.append(key)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[key] for key in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> list[Step]:
        """The steps for one selection on one type; kept (with the field set, so that its id
        stays unique) for the rest of the request. A field the type does not have gets no step:
        graphql-core's `execute_field` leaves it out of the result too."""
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        steps = [
            step
            for key, details in grouped_field_set.items()
            if (step := self._step(parent_type, key, details)) is not None
        ]
        self._plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return steps

    def _step(self, parent_type: GraphQLObjectType, key: str, details: FieldDetailsList) -> Step | None:
        node = details[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None:
            return None
        nodes = to_nodes(details)
        core = Step(key, details, field_def, nodes, None, "", None, None)
        field: StrawberryField | None = field_def.extensions.get(DEFINITION)
        if field is None or field.extensions:
            return core  # permissions, introspection
        attribute, resolve = "", None
        if field.is_basic_field and field.default_resolver is getattr and not node.arguments:
            attribute = field.python_name
        else:
            resolve = self._resolver(field, field_def, details)
            if resolve is None:
                return core
        name = f"{parent_type.name}.{node.name.value}"
        complete = self._completer(field_def.type, details, field_def, parent_type, name)
        if complete is None:
            return core
        inner = get_nullable_type(field_def.type)
        scalar = (
            inner
            if resolve is None
            and isinstance(inner, GraphQLScalarType)
            and specified_scalar_types.get(inner.name) is inner
            else None
        )
        return Step(key, details, field_def, nodes, complete, attribute, resolve, scalar)

    def _resolver(
        self, field: StrawberryField, field_def: GraphQLField, details: FieldDetailsList
    ) -> Resolve | None:
        """A synchronous Strawberry resolver without extensions, called as Strawberry calls
        one: graphql-core coerces the arguments, Strawberry converts them and adds `self`,
        `info`, `root`/`parent`. None for any other resolver."""
        strawberry_schema: Schema | None = getattr(self.schema, "_strawberry_schema", None)
        resolver = field.base_resolver
        if (
            resolver is None
            or field.is_async
            or strawberry_schema is None
            or strawberry_schema.exception_handlers
        ):
            return None
        node = details[0].node
        fragment_variables = details[0].fragment_variable_values
        with_arguments = bool(field_def.args or node.arguments)
        info_class = strawberry_schema.config.info_class
        config = strawberry_schema.config
        scalars = strawberry_schema.schema_converter.scalar_registry
        func = resolver.wrapped_func
        if not callable(func):
            return None
        make_info = _info_maker(info_class, field, self.context_value)
        if not with_arguments and not field.arguments:
            return self._plain_resolver(resolver, func, make_info)
        takes_self, sources, info_name = _parameters(resolver)
        # A resolver that takes its arguments reshaped (schema.relay.paginated: Relay's four as
        # one `page`) says how, and what it wraps: the reshaped arguments are kept, as below.
        receives = getattr(func, "receives", None)
        inner = getattr(func, "resolver") if receives is not None else func  # noqa: B009

        # The arguments depend on the field's node and the request's variables only: once
        # converted to plain values (numbers, strings, enums, null) they are kept for every
        # other parent. Anything else (an input object, a list) is converted for each call,
        # as Strawberry does, so that no resolver shares a mutable value with another.
        converted: list[dict[str, Any]] = []

        def call(source: Any, raw_info: RawInfo) -> Any:
            info = make_info(raw_info)
            if converted:
                kwargs = dict(converted[0])
            else:
                values = (
                    get_argument_values(
                        field_def, node, self.variable_values, fragment_variables, self.hide_suggestions
                    )
                    if with_arguments
                    else {}
                )
                kwargs = convert_arguments(values, field.arguments, scalars, config, info)
                plain = all(type(v) in PLAIN or v is None or isinstance(v, Enum) for v in kwargs.values())
                if receives is not None:
                    kwargs = receives(kwargs)  # (an invalid page raises here, for each parent)
                if plain:
                    converted.append(dict(kwargs))
            # what Strawberry's get_arguments adds: `root`/`parent`, `info`, and `self` first
            for name in sources:
                kwargs[name] = source
            if info_name is not None:
                kwargs[info_name] = info
            return inner(source, **kwargs) if takes_self else inner(**kwargs)

        return call

    @staticmethod
    def _plain_resolver(
        resolver: StrawberryResolver[Any], func: Callable[..., Any], make_info: Callable[[RawInfo], Info]
    ) -> Resolve:
        """A resolver without arguments (`func`, its wrapped function): what Strawberry's
        `get_arguments` gives it then is `self` and the `info`, `root` and `parent` parameters
        it declares."""
        takes_self, sources, info_name = _parameters(resolver)

        def call(source: Any, raw_info: RawInfo) -> Any:
            kwargs = dict.fromkeys(sources, source)
            if info_name is not None:
                kwargs[info_name] = make_info(raw_info)
            return func(source, **kwargs) if takes_self else func(**kwargs)

        return call

    def _completer(
        self,
        return_type: GraphQLOutputType,
        details: FieldDetailsList,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
        name: str,
    ) -> Complete | None:
        """`complete_value` for one type, compiled; None where graphql-core must do it. A
        non-null type is its inner type's completer that refuses null, with graphql-core's
        message (the inner completers return null only for a null value)."""
        required = is_non_null_type(return_type)
        inner = get_nullable_type(return_type)
        present: Complete
        if is_leaf_type(inner):
            leaf = inner
            complete_leaf = self.complete_leaf_value

            def present_leaf(value: Any, _path: Path) -> Any:
                return complete_leaf(leaf, value)

            present = present_leaf
        elif is_list_type(inner):
            listed = self._list_completer(inner, details, field_def, parent_type, name)
            if listed is None:
                return None
            present = listed
        elif is_object_type(inner):
            present = self._object_completer(inner, details, field_def, parent_type)
        else:
            return None  # interfaces and unions: graphql-core resolves the runtime type
        null = f"Cannot return null for non-nullable field {name}."

        def complete(value: Any, path: Path) -> Any:
            if value is None or value is Undefined:
                if required:
                    raise TypeError(null)
                return None
            if isinstance(value, Exception):
                raise value
            return present(value, path)

        return complete

    def _object_completer(
        self,
        return_type: GraphQLObjectType,
        details: FieldDetailsList,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
    ) -> Complete:
        """`complete_object_value` for a present value, compiled: the sub-selection's plan is
        made when the first value asks for it."""
        is_type_of = return_type.is_type_of
        # Strawberry's own is_type_of (for types with interfaces) never reads the info;
        # one the type defines itself might, so that one gets graphql-core's completion.
        own: StrawberryObjectDefinition | None = return_type.extensions.get(DEFINITION)
        needs_info = is_type_of is not None and (own is None or own.is_type_of is not None)
        origin = own.origin if own is not None else None  # an instance of it is of the type
        subplan: list[list[Step] | None] = []
        fast: list[direct.Direct | None] = []
        guard = self.read_guard(return_type)

        def present(value: Any, path: Path) -> Any:
            if not subplan:
                grouped_field_set, defer_usages, _ = self.collect_subfields(return_type, details)
                planned = not (needs_info or defer_usages)
                subplan.append(self._plan(return_type, grouped_field_set) if planned else None)
                fast.append(self._direct(return_type, details))
            complete_directly = fast[0]
            if complete_directly is not None:
                try:
                    return complete_directly(value)
                except Exception:  # not a plain value: completed below, errors and all
                    pass
            plan = subplan[0]
            if plan is None:
                info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                return self.complete_object_value(return_type, details, info, path, value, None)
            if guard is not None:
                guard(value)
            # Strawberry's is_type_of takes `_info` and never reads it (the contract test pins it)
            if is_type_of is not None and type(value) is not origin and not is_type_of(value, None):  # type: ignore[arg-type]
                raise invalid_return_type_error(return_type, value, details)
            return self._run(return_type, value, path, plan)

        return present

    def _list_completer(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        details: FieldDetailsList,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
        name: str,
    ) -> Complete | None:
        """`complete_list_value` for a present value, compiled."""
        item_type = return_type.of_type
        item = self._completer(item_type, details, field_def, parent_type, name)
        if item is None:
            return None
        # non-null objects: the whole list completed directly when every item is plain
        direct_type = item_type.of_type if is_non_null_type(item_type) else None
        fast: list[direct.Direct | None] = [] if is_object_type(direct_type) else [None]
        is_awaitable = self.is_awaitable
        is_async_iterable = self.is_async_iterable
        handle_field_error = self.handle_field_error
        settled = self._settled
        message = f"Expected Iterable, but did not find one for field '{name}'."

        def items(value: Any, path: Path, completed: list[Any], pending: list[int]) -> Any:
            info: GraphQLResolveInfo[Any] | None = None
            for index, entry in enumerate(value):
                item_path = Path(path, index, None)
                kind = type(entry)
                if kind not in settled and is_awaitable(entry):
                    # an awaitable item: graphql-core awaits and completes it
                    if info is None:
                        info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            entry, item_type, details, info, item_path, None
                        )
                    )
                    pending.append(index)
                    continue
                if kind not in settled and _never_awaitable(kind):
                    settled.add(kind)  # asked once per type and request
                try:
                    result = item(entry, item_path)
                except Exception as raw_error:
                    handle_field_error(raw_error, item_type, details, item_path)
                    result = None
                else:
                    if type(result) not in SETTLED and is_awaitable(result):
                        result = self._await_completed(result, item_type, details, item_path)
                        pending.append(index)
                completed.append(result)
            if not pending:
                return completed
            return self._gather_items(completed, pending)

        def many(value: Any, path: Path) -> Any:
            if type(value) is list:  # (neither async nor anything but iterable)
                if not fast:
                    fast.append(self._direct(cast(GraphQLObjectType, direct_type), details))
                complete_directly = fast[0]
                if complete_directly is not None:
                    try:
                        return [complete_directly(entry) for entry in value]
                    except Exception:  # an item is not a plain value: item by item below
                        pass
            elif is_async_iterable(value):
                info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                return self.complete_list_value(return_type, details, info, path, value, None)
            elif not is_iterable(value):
                raise GraphQLError(message)
            completed: list[Any] = []
            pending: list[int] = []
            try:
                return items(value, path, completed, pending)
            except Exception:  # an item failed into this non-null list: settle the others
                if pending:
                    self.settle_in_background([completed[i] for i in pending])
                raise

        return many

    # -- direct completion -------------------------------------------------------------------

    def _direct(self, return_type: GraphQLObjectType, details: FieldDetailsList) -> direct.Direct | None:
        """The function completing an object of `return_type` selected by `details` in one
        call, when every field of the selection is an attribute of a leaf, of such an object
        or of a list of them; else None. Made once per selection and request."""
        cache_key = (return_type.name, id(details))
        cached = self._directs.get(cache_key)
        if cached is not None:
            return cached[1]
        self._directs[cache_key] = (details, None)  # (a selection that contains itself: not direct)
        made = self._build_direct(return_type, details)
        self._directs[cache_key] = (details, made)
        return made

    def _build_direct(
        self, return_type: GraphQLObjectType, details: FieldDetailsList
    ) -> direct.Direct | None:
        own: StrawberryObjectDefinition | None = return_type.extensions.get(DEFINITION)
        if own is None or own.is_type_of is not None or not self._plain:
            return None  # a type's own is_type_of may read the info: graphql-core completes it
        grouped_field_set, defer_usages, _ = self.collect_subfields(return_type, details)
        if defer_usages:
            return None
        fields = []
        for step in self._plan(return_type, grouped_field_set):
            field = self._direct_field(return_type, step)
            if field is None:
                return None
            fields.append(field)
        # A type with interfaces checks its values' class (Strawberry's is_type_of), so only
        # its own class is direct; any other type reads attributes of whatever value it is
        # given, so any value known not to be awaitable is (a wrong one fails as it would).
        kinds = own.origin if return_type.is_type_of is not None else self._settled
        return direct.build(kinds, self.read_guard(return_type), fields)

    def _direct_field(self, parent_type: GraphQLObjectType, step: Step) -> direct.Field | None:
        if step.complete is None:  # graphql-core's own: only `__typename` is known here
            if step.field_def is TypeNameMetaFieldDef and direct.usable(step.key, ""):
                return direct.Field(step.key, typename=parent_type.name)
            return None
        if step.resolve is not None or not direct.usable(step.key, step.attribute):
            return None
        nullable = not is_non_null_type(step.field_def.type)
        inner = get_nullable_type(step.field_def.type)
        listed = is_list_type(inner)
        list_nullable = False
        if listed:
            item = cast(GraphQLList[GraphQLOutputType], inner).of_type
            if not is_non_null_type(item):
                return None
            inner, list_nullable, nullable = get_nullable_type(item), nullable, False
        if is_leaf_type(inner):
            leaf = _leaf(inner)
            return direct.Field(step.key, step.attribute, nullable, listed, list_nullable, leaf=leaf)
        if is_object_type(inner):
            made = self._direct(inner, step.details)
            if made is None:
                return None
            return direct.Field(step.key, step.attribute, nullable, listed, list_nullable, inner=made)
        return None

    async def _await_completed(
        self, awaitable: Awaitable[Any], return_type: GraphQLOutputType, details: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await awaitable
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    @staticmethod
    async def _gather_fields(results: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        """An object's fields, with the awaitables under `keys` awaited together."""
        values = await gather_with_cancel(*(results[key] for key in keys))
        results.update(zip(keys, values, strict=True))
        return results

    @staticmethod
    async def _gather_items(items: list[Any], indexes: list[int]) -> list[Any]:
        """A list's items, with the awaitables at `indexes` awaited together."""
        values = await gather_with_cancel(*(items[index] for index in indexes))
        for index, value in zip(indexes, values, strict=True):
            items[index] = value
        return items


class LazyInfo(StrawberryInfo):
    """Strawberry's `Info`, whose graphql-core resolve info is built when first read. Most
    resolvers of a page read only `info.context` (their loaders), which it has at hand: the
    resolve info (a tuple of thirteen, some 1.5 µs) is built for the few that read more."""

    def __init__(self, raw_info: RawInfo, field: StrawberryField, context: Any) -> None:  # (no super)
        self._raw_info_of = raw_info
        self._field = field
        self._context = context

    @cached_property
    def _raw_info(self) -> GraphQLResolveInfo[Any]:  # type: ignore[override]
        return self._raw_info_of()

    @property
    def context(self) -> Any:
        return self._context


def _info_maker(info_class: type[Info], field: StrawberryField, context: Any) -> Callable[[RawInfo], Info]:
    """How a field's resolver gets its `info`: lazily for Strawberry's own class; a schema's
    own class gets it built."""
    if info_class is StrawberryInfo:
        return lambda raw_info: LazyInfo(raw_info, field, context)
    return lambda raw_info: info_class(_raw_info=raw_info(), _field=field)


def _leaf(leaf_type: Any) -> direct.Leaf:
    """How a leaf type completes: graphql-core serializes it; the values that serialize to
    themselves, or an enum's members to their names, are known without the call."""
    if leaf_type is GraphQLInt:
        return direct.Leaf(leaf_type.serialize, int)
    kind = VERBATIM.get(leaf_type)
    if kind is not None:
        return direct.Leaf(leaf_type.serialize, kind)
    members = getattr(leaf_type, "wrapped_cls", None)  # a Strawberry enum, serialized by name
    if isinstance(leaf_type, GraphQLEnumType) and isinstance(members, type) and issubclass(members, Enum):
        names = {
            member: next((name for name, v in leaf_type.values.items() if member.value == v.value), None)
            for member in members
        }
        if None not in names.values():
            return direct.Leaf(leaf_type.serialize, members, cast(dict[Any, str], names))
    return direct.Leaf(leaf_type.serialize)


def _parameters(resolver: StrawberryResolver[Any]) -> tuple[bool, list[str], str | None]:
    """What Strawberry's `get_arguments` gives a resolver besides its arguments: whether it takes
    `self` (the source, first), the names of its `parent`/`root` parameters (the source), and
    of its `info` parameter."""
    takes_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    return takes_self, sources, info_name
