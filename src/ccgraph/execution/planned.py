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

The completers keep graphql-core's rules and messages: null in a non-null field, a leaf that
does not serialize, a non-iterable list, `is_type_of`; errors are located at the same path and
nulled at the same nullable parent. Anything unusual (an awaitable value, an async iterable,
an abstract type, middleware, incremental delivery) is handed back to graphql-core. The suite
runs on both executors (`CCGRAPH_PLANNED_EXECUTION`), so a difference in results, errors or
permission checks fails a test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    specified_scalar_types,
)
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import get_arguments

from ccgraph.schema.permissions import read_guard

DEFINITION = "strawberry-definition"
Complete = Callable[[Any, Path], Any]
CORE, ATTRIBUTE, CALL, SCALAR = range(4)
PLAIN = frozenset({str, int, float, bool})  # never awaitable, never an exception
SETTLED = frozenset({dict, list, type(None), str, int, float, bool})  # a completed value


class Step(NamedTuple):
    key: str
    details: Any  # graphql-core's field details list
    kind: int
    read: Any  # ATTRIBUTE, SCALAR: the attribute's name; CALL: the resolver, called with (source, info)
    complete: Any  # the completer compiled for the field's type
    field_def: Any = None
    nodes: Any = None


class GuardedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with authorization that follows the object: wherever an object
    of a guarded type is completed (root field, `node`, a nested relation, a payload), the
    caller must hold the type's read permission (`permissions.read_guard`). The guard is
    decided once per type and request; a caller who holds the permission pays nothing more."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_guards: dict[str, Any] = {}

    def read_guard(self, return_type: GraphQLObjectType) -> Any:
        name = return_type.name
        if name not in self._read_guards:
            self._read_guards[name] = read_guard(return_type, self.context_value)
        return self._read_guards[name]

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        guard = self.read_guard(return_type)
        if guard is not None:
            guard(result)
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )


class PlannedExecutor(GuardedExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[int, tuple[Any, list[Step]]] = {}
        manager = self.middleware_manager
        self._plain = not (manager and manager.middlewares)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if position_context is not None or not self._plain:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run(parent_type, source_value, path, self._plan(parent_type, grouped_field_set))

    def _run(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, plan: list[Step]
    ) -> Any:
        """execute_fields, step by step."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        complete_leaf = self.complete_leaf_value
        parent_name = parent_type.name
        try:
            for key, details, kind, read, complete, field_def, nodes in plan:
                if kind == SCALAR:  # a built-in scalar read as a plain value: completed here
                    try:
                        value = getattr(source_value, read)
                        if type(value) in PLAIN:
                            results[key] = complete_leaf(complete.leaf, value)
                            continue
                    except Exception as raw_error:
                        field_path = Path(path, key, parent_name)
                        self.handle_field_error(raw_error, complete.return_type, details, field_path)
                        results[key] = None
                        continue
                field_path = Path(path, key, parent_name)
                if kind == CORE:
                    result = self.execute_field(parent_type, source_value, details, field_path, None)
                    if result is Undefined:
                        continue
                    pending = is_awaitable(result)
                else:
                    info = None
                    try:
                        if kind == ATTRIBUTE:
                            value = getattr(source_value, read)
                        elif kind == CALL:
                            info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
                            value = read(source_value, info)
                        deferred = is_awaitable(value)
                        if not deferred:
                            result = complete(value, field_path)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, complete.return_type, details, field_path)
                        result, pending = None, False
                    else:
                        if deferred:  # graphql-core awaits and completes it
                            if info is None:
                                result = self.execute_field(
                                    parent_type, source_value, details, field_path, None
                                )
                            else:
                                result = self.complete_awaitable_value(
                                    complete.return_type, details, info, field_path, value, None
                                )
                            pending = is_awaitable(result)
                        elif type(result) in SETTLED or not is_awaitable(result):
                            pending = False
                        else:
                            result = self._await_completed(result, complete.return_type, details, field_path)
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
        return self._gather(results, awaitable_fields)

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Step]:
        """The steps for one selection on one type; kept (with the field set, so that its id
        stays unique) for the rest of the request."""
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        steps = [self._step(parent_type, key, details) for key, details in grouped_field_set.items()]
        self._plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return steps

    def _step(self, parent_type: GraphQLObjectType, key: str, details: Any) -> Step:
        node = details[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        field = field_def.extensions.get(DEFINITION) if field_def else None
        if field is None or field.extensions:
            return Step(key, details, CORE, None, None)  # permissions, introspection
        if field.is_basic_field and field.default_resolver is getattr and not node.arguments:
            kind, read = ATTRIBUTE, field.python_name
        else:
            kind, read = CALL, self._resolver(field, field_def, details)
            if read is None:
                return Step(key, details, CORE, None, None)
        name = f"{parent_type.name}.{node.name.value}"
        complete = self._completer(field_def.type, details, field_def, parent_type, name)
        if complete is None:
            return Step(key, details, CORE, None, None)
        leaf = complete.leaf
        if kind == ATTRIBUTE and leaf is not None and specified_scalar_types.get(leaf.name) is leaf:
            kind = SCALAR
        return Step(key, details, kind, read, complete, field_def, to_nodes(details))

    def _resolver(self, field: Any, field_def: Any, details: Any) -> Callable[[Any, Any], Any] | None:
        """A synchronous Strawberry resolver without extensions, called as Strawberry calls
        one: graphql-core coerces the arguments, Strawberry converts them and adds `self`,
        `info`, `root`/`parent`. None for any other resolver."""
        strawberry_schema = getattr(self.schema, "_strawberry_schema", None)
        if (
            field.base_resolver is None
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
        if not with_arguments and not field.arguments and callable(field.base_resolver.wrapped_func):
            return self._plain_resolver(field, info_class)

        def call(source: Any, raw_info: Any) -> Any:
            values = (
                get_argument_values(
                    field_def, node, self.variable_values, fragment_variables, self.hide_suggestions
                )
                if with_arguments
                else {}
            )
            info = info_class(_raw_info=raw_info, _field=field)
            args, kwargs = get_arguments(
                field=field, source=source, info=info, kwargs=values, config=config, scalar_registry=scalars
            )
            return field.get_result(source, info=info, args=args, kwargs=kwargs)

        return call

    @staticmethod
    def _plain_resolver(field: Any, info_class: Any) -> Callable[[Any, Any], Any]:
        """A resolver without arguments: what Strawberry's `get_arguments` gives it then is
        `self` and the `info`, `root` and `parent` parameters it declares."""
        resolver = field.base_resolver
        func = resolver.wrapped_func
        takes_self = resolver.self_parameter is not None
        sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

        def call(source: Any, raw_info: Any) -> Any:
            kwargs = dict.fromkeys(sources, source)
            if info_name is not None:
                kwargs[info_name] = info_class(_raw_info=raw_info, _field=field)
            return func(source, **kwargs) if takes_self else func(**kwargs)

        return call

    def _completer(
        self,
        return_type: GraphQLOutputType,
        details: Any,
        field_def: Any,
        parent_type: GraphQLObjectType,
        name: str,
    ) -> Complete | None:
        """`complete_value` for one type, compiled; None where graphql-core must do it. A
        non-null type is its inner type's completer that refuses null, with graphql-core's
        message (the inner completers return null only for a null value)."""
        required = is_non_null_type(return_type)
        inner = return_type.of_type if required else return_type
        if is_leaf_type(inner):
            complete_leaf = self.complete_leaf_value

            def present(value: Any, _path: Path) -> Any:
                return complete_leaf(inner, value)

        elif is_list_type(inner):
            present = self._list_completer(inner, details, field_def, parent_type, name)
            if present is None:
                return None
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

        complete.return_type = return_type  # type: ignore[attr-defined]
        complete.leaf = inner if is_leaf_type(inner) else None  # type: ignore[attr-defined]
        return complete

    def _object_completer(
        self, return_type: GraphQLObjectType, details: Any, field_def: Any, parent_type: GraphQLObjectType
    ) -> Complete:
        """`complete_object_value` for a present value, compiled: the sub-selection's plan is
        made when the first value asks for it."""
        is_type_of = return_type.is_type_of
        # Strawberry's own is_type_of (for types with interfaces) never reads the info;
        # one the type defines itself might, so that one gets graphql-core's completion.
        own = return_type.extensions.get(DEFINITION)
        needs_info = is_type_of is not None and (own is None or own.is_type_of is not None)
        subplan: list[Any] = []
        guard = self.read_guard(return_type)

        def present(value: Any, path: Path) -> Any:
            if not subplan:
                grouped_field_set, defer_usages, _ = self.collect_subfields(return_type, details)
                planned = not (needs_info or defer_usages)
                subplan.append(self._plan(return_type, grouped_field_set) if planned else None)
            plan = subplan[0]
            if plan is None:
                info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                return self.complete_object_value(return_type, details, info, path, value, None)
            if guard is not None:
                guard(value)
            if is_type_of is not None and not is_type_of(value, None):
                raise invalid_return_type_error(return_type, value, details)
            return self._run(return_type, value, path, plan)

        return present

    def _list_completer(
        self,
        return_type: GraphQLList[Any],
        details: Any,
        field_def: Any,
        parent_type: GraphQLObjectType,
        name: str,
    ) -> Complete | None:
        """`complete_list_value` for a present value, compiled."""
        item_type = return_type.of_type
        item = self._completer(item_type, details, field_def, parent_type, name)
        if item is None:
            return None
        is_awaitable = self.is_awaitable
        is_async_iterable = self.is_async_iterable
        handle_field_error = self.handle_field_error
        message = f"Expected Iterable, but did not find one for field '{name}'."

        def items(value: Any, path: Path, completed: list[Any], pending: list[int]) -> Any:
            info = None
            for index, entry in enumerate(value):
                item_path = Path(path, index, None)
                if is_awaitable(entry):  # an awaitable item: graphql-core awaits and completes it
                    if info is None:
                        info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            entry, item_type, details, info, item_path, None
                        )
                    )
                    pending.append(index)
                    continue
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
            return self._gather(completed, pending)

        def many(value: Any, path: Path) -> Any:
            if is_async_iterable(value):
                info = self.build_resolve_info(field_def, to_nodes(details), parent_type, path)
                return self.complete_list_value(return_type, details, info, path, value, None)
            if not is_iterable(value):
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

    async def _await_completed(self, awaitable: Any, return_type: Any, details: Any, path: Path) -> Any:
        try:
            return await awaitable
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    @staticmethod
    async def _gather(container: Any, keys: list[Any]) -> Any:
        """The dict of an object's fields or the list of a list's items, with the awaitables
        under `keys` awaited together and replaced by their values."""
        values = await gather_with_cancel(*(container[key] for key in keys))
        for key, value in zip(keys, values, strict=True):
            container[key] = value
        return container
