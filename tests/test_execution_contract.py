"""The contract between `execution/` and the graphql-core and Strawberry internals it relies on.

`execution/planned.py` subclasses Strawberry's execution context (graphql-core's executor),
overrides some of its methods and calls others, imports names that are no public API, and
reads attributes of Strawberry's fields, resolvers, types and schema; `execution/prefetch.py`
and `execution/limits.py` do some of the same. None of that is covered by either project's
compatibility promises, so each use is pinned here: a signature (parameter names and kinds),
the fields of a named tuple, or the presence of an attribute, as the installed versions have
them. An upgrade that changes one fails here, naming it, instead of failing (or, worse,
silently slowing down) somewhere in the executor.

The list of what must be pinned is read from the source with `ast`: every name imported from
graphql-core or Strawberry other than their top-level public API, every member of a
graphql-core or Strawberry class that a class in `execution/` overrides or reaches through
`self` or `super()`, and every private (`_x`) or dunder attribute read on another object. A
new use without a pin fails `test_every_use_is_pinned` until it gets one.

When a test here fails after an upgrade, read the README's "Upgrading Strawberry or
graphql-core": meanwhile `CCGRAPH_PLANNED_EXECUTION=false` serves with graphql-core's own
executor."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import functools
import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import graphql
import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.dataloader import DataLoader
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from ccgraph.execution.planned import GuardedExecutor, LazyInfo, PlannedExecutor

EXECUTION = Path(__file__).parent.parent / "src" / "ccgraph" / "execution"
SOURCES = ("planned.py", "limits.py", "prefetch.py")
EXTERNAL = ("graphql", "strawberry")
# Top-level packages whose `__all__` is their public API: names imported from them need no pin.
PUBLIC = ("graphql", "strawberry", "strawberry.types", "strawberry.extensions", "strawberry.dataloader")
BASE = "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext"
INSTALLED = f"graphql-core {version('graphql-core')}, strawberry-graphql {version('strawberry-graphql')}"
UPGRADING = (
    "execution/ relies on it: see README.md, 'Upgrading Strawberry or graphql-core' "
    "(CCGRAPH_PLANNED_EXECUTION=false serves with graphql-core's own executor meanwhile)"
)

# -- the pins ----------------------------------------------------------------------------------
# Signatures as `shape` writes them: parameter names in order, `=` after one with a default,
# `*` before keyword-only ones, `*args`, `**kwargs`, `/` after positional-only ones.
SIGNATURES: dict[str, str] = {
    # The executor: what planned.py overrides (its overrides must keep these shapes) and calls.
    f"{BASE}.__init__": "self, *args, **kwargs",
    f"{BASE}.execute_fields": "self, parent_type, source_value, path, grouped_field_set, position_context",
    f"{BASE}.execute_field": "self, parent_type, source, field_details_list, path, position_context",
    f"{BASE}.complete_object_value": (
        "self, return_type, field_details_list, info, path, result, position_context"
    ),
    f"{BASE}.complete_awaitable_value": (
        "self, return_type, field_details_list, info, path, result, position_context"
    ),
    f"{BASE}.complete_list_value": "self, return_type, field_details_list, info, path, result, position_context",
    f"{BASE}.complete_awaitable_list_item_value": (
        "self, item, item_type, field_details_list, info, item_path, position_context"
    ),
    f"{BASE}.complete_leaf_value": "return_type, result",  # a staticmethod
    f"{BASE}.build_resolve_info": "self, field_def, field_nodes, parent_type, path",
    f"{BASE}.handle_field_error": "self, raw_error, return_type, field_details_list, path",
    f"{BASE}.collect_subfields": "self, return_type, field_details_list",
    f"{BASE}.build_per_event_executor": "self, payload",  # a subscription's event (start_event)
    f"{BASE}.build_response": "self, data",  # the end of an execution (its caches are dropped)
    f"{BASE}.settle_in_background": "self, awaitables",
    f"{BASE}.is_awaitable": "value",  # a staticmethod attribute
    f"{BASE}.is_async_iterable": "value",
    # graphql-core functions outside its top-level API.
    "graphql.execution.executor.invalid_return_type_error": "return_type, result, field_details_list",
    "graphql.execution.executor.to_nodes": "field_details_list",
    "graphql.execution.values.get_argument_values": (
        "type_def, node, variable_values=, fragment_variable_values=, hide_suggestions="
    ),
    "graphql.pyutils.is_iterable": "value",
    "graphql.pyutils.gather_with_cancel.gather_with_cancel": "*awaitables",
    "graphql.GraphQLSchema.get_field": "self, parent_type, field_name",
    # Strawberry: how it converts arguments and calls a resolver, which planned.py does itself.
    "strawberry.schema.schema_converter.get_arguments": "*, field, source, info, kwargs, config, scalar_registry",
    "strawberry.types.arguments.convert_arguments": "value, arguments, scalar_registry, config, info=",
    "strawberry.types.field.StrawberryField.get_result": "self, source, info, args, kwargs",
    # planned.LazyInfo replaces it (and `context`); test_lazy_info_answers_as_strawberrys_info
    "strawberry.types.Info.__init__": "self, _raw_info, _field",
    "strawberry.schema.name_converter.NameConverter.get_graphql_name": "self, obj",
    # The loaders' cache, read by prefetch.py.
    "strawberry.dataloader.DataLoader.clear": "self, key",  # prefetch.DataLoader's overrides
    "strawberry.dataloader.DataLoader.clear_all": "self",
    "strawberry.dataloader.DataLoader.load": "self, key",
    # limits.py: a validation rule and a schema extension that sets a parse option.
    "graphql.ValidationRule.report_error": "self, error",
    "graphql.ValidationContext.get_fragment": "self, name",
    "strawberry.extensions.SchemaExtension.on_operation": "self",
    # QueryLimits replaces it without calling it: Strawberry sets `execution_context` itself.
    "strawberry.extensions.SchemaExtension.__init__": "self, *, execution_context=",
}

# Named tuples (and dataclasses) read by position or by field name.
FIELDS: dict[str, tuple[str, ...]] = {
    # `grouped_field_set, defer_usages, _ = self.collect_subfields(...)`
    "graphql.execution.collect_fields.CollectedFields": (
        "grouped_field_set",
        "new_defer_usages",
        "forbidden_directive_instances",
    ),
    "graphql.execution.collect_fields.FieldDetails": ("node", "defer_usage", "fragment_variable_values"),
    "graphql.pyutils.Path": ("prev", "key", "typename"),  # built as Path(prev, key, typename)
    "strawberry.types.Info": ("_raw_info", "_field"),  # built as info_class(_raw_info=, _field=)
    # prefetch.py builds one around the plain dict Strawberry's resolve info holds
    "graphql.execution.values.VariableValues": ("sources", "coerced"),
}

# What must merely exist: types named in annotations, attributes, constants. An attribute of a
# class is looked up on the class, its annotations and its dataclass or named-tuple fields.
PRESENT: dict[str, str] = {
    "graphql.execution.collect_fields.FieldDetailsList": "list[FieldDetails], the details of one response key",
    "graphql.execution.collect_fields.GroupedFieldSet": "dict[str, FieldDetailsList], a selection",
    "graphql.execution.incremental.incremental_executor.DeliveryGroupMap": "the position_context type",
    "graphql.pyutils.AwaitableOrValue": "the executor's return types",
    "graphql.pyutils.Undefined": "execute_field's result for a field the type lacks",
    "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext": "the class the executors extend",
    "strawberry.schema.schema_converter.GraphQLCoreConverter": "its DEFINITION_BACKREF",
    "strawberry.schema.schema_converter.GraphQLCoreConverter.DEFINITION_BACKREF": "the key to the definitions",
    "strawberry.types.base.StrawberryObjectDefinition": "a type's definition",
    "strawberry.types.base.StrawberryObjectDefinition.is_type_of": "a type's own is_type_of",
    "strawberry.types.base.StrawberryObjectDefinition.fields": "read by prefetch.declared",
    "strawberry.types.base.StrawberryObjectDefinition.name": "read by prefetch.wanted",
    "strawberry.types.field.StrawberryField": "a field's definition",
    "strawberry.types.Info.context": "a property planned.LazyInfo answers without the resolve info",
    "strawberry.types.fields.resolver.StrawberryResolver": "a field's resolver",
    # The executor's state planned.py reads through `self`.
    f"{BASE}.schema": "the GraphQLSchema",
    f"{BASE}.context_value": "the request's context",
    f"{BASE}.variable_values": "graphql-core's VariableValues",
    f"{BASE}.hide_suggestions": "passed to get_argument_values",
    f"{BASE}.operation": "the operation, whose selections columns.unshown walks",
    f"{BASE}.fragments": "its fragments by name, as FragmentDetails",
    "graphql.execution.collect_fields.FragmentDetails": "a fragment's `definition` (columns.unshown)",
    f"{BASE}.middleware_manager": "middleware turns the plans off",
    "graphql.execution.middleware.MiddlewareManager.middlewares": "read by PlannedExecutor.__init__",
    # limits.py
    "graphql.ValidationRule.context": "the ValidationContext",
    "strawberry.extensions.SchemaExtension.execution_context": "set by Strawberry on each request",
    "strawberry.types.execution.ExecutionContext.parse_options": "keyword arguments for graphql.parse",
    "strawberry.types.execution.ExecutionContext.validation_rules": "the rules validate() runs",
}

# Attributes of Strawberry's objects that execution/ reads (checked on real instances below).
INSTANCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "StrawberryField": (
        "is_basic_field",
        "default_resolver",
        "python_name",
        "extensions",
        "base_resolver",
        "is_async",
        "arguments",
        "metadata",
    ),
    "StrawberryResolver": (
        "wrapped_func",
        "self_parameter",
        "parent_parameter",
        "root_parameter",
        "info_parameter",
    ),
    "Schema": ("exception_handlers", "config", "schema_converter", "execution_context_class"),
    "StrawberryConfig": ("info_class", "name_converter"),
    "GraphQLCoreConverter": ("scalar_registry",),
    "DataLoader": ("cache", "cache_map", "load_fn", "load"),
}

# Private and dunder attributes read on objects other than `self` (and private keyword
# arguments, and names given to getattr): where each must be found.
PRIVATE_ATTRIBUTES: dict[str, str] = {
    "_raw_info": "strawberry.types.Info",
    "_field": "strawberry.types.Info",
    "_strawberry_schema": "the GraphQLSchema a strawberry.Schema builds (checked below)",
    "__strawberry_definition__": "a strawberry.type class (checked below)",
}
BUILTIN_DUNDERS = {"__name__", "__class__", "__dict__", "__module__", "__qualname__", "__doc__"}


# -- helpers -----------------------------------------------------------------------------------


def resolve(dotted: str) -> Any:
    """The object a dotted name stands for, as `from module import name` finds it: the longest
    importable module, then attributes; a module only when nothing else is named so (the
    function `graphql.pyutils.is_iterable`, not the module of the same name)."""
    parts = dotted.split(".")
    module_found = None
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        if cut == len(parts):
            module_found = found
            continue
        for part in parts[cut:]:
            found = lookup(found, part, dotted)
        return found
    if module_found is not None:
        return module_found
    raise AssertionError(f"{dotted} cannot be imported with {INSTALLED}. {UPGRADING}")


def lookup(owner: Any, name: str, dotted: str) -> Any:
    """An attribute, or a class's annotated or dataclass field (which has no class value)."""
    if hasattr(owner, name):
        return getattr(owner, name)
    if inspect.isclass(owner):
        annotated = any(name in vars(k).get("__annotations__", {}) for k in owner.__mro__)
        fields = dataclasses.is_dataclass(owner) and name in {f.name for f in dataclasses.fields(owner)}
        if annotated or fields:
            return None
    raise AssertionError(f"{dotted} no longer exists with {INSTALLED}. {UPGRADING}")


def shape(function: Any) -> str:
    parts: list[str] = []
    starred = False
    parameters = list(inspect.signature(function).parameters.values())
    for index, p in enumerate(parameters):
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            starred = True
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            if p.kind is p.KEYWORD_ONLY and not starred:
                parts.append("*")
                starred = True
            parts.append(p.name + ("=" if p.default is not p.empty else ""))
            following = parameters[index + 1].kind if index + 1 < len(parameters) else None
            if p.kind is p.POSITIONAL_ONLY and following is not p.POSITIONAL_ONLY:
                parts.append("/")
    return ", ".join(parts)


def pinned(dotted: str) -> bool:
    return dotted in SIGNATURES or dotted in FIELDS or dotted in PRESENT


class Uses:
    """What one module of execution/ uses of graphql-core and Strawberry, read from its AST."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.tree = ast.parse((EXECUTION / filename).read_text())
        self.imported: dict[str, str] = {}  # local name -> dotted name
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(EXTERNAL):
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(EXTERNAL):
                        self.imported[alias.asname or alias.name] = alias.name
        self.classes = {n.name: n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)}

    def private_imports(self) -> set[str]:
        """Imported names that are not in the `__all__` of a public top-level package."""
        found: set[str] = set()
        for dotted in self.imported.values():
            module, _, name = dotted.rpartition(".")
            if module in PUBLIC and name in getattr(importlib.import_module(module), "__all__", ()):
                continue
            found.add(dotted)
        return found

    def external_root(self, name: str) -> str | None:
        """The graphql-core or Strawberry class a class of this module extends, if any."""
        if name in self.imported:
            return self.imported[name]
        node = self.classes.get(name)
        if node is None:
            return None
        for base in node.bases:
            if isinstance(base, ast.Name) and (root := self.external_root(base.id)):
                return root
        return None

    def own_names(self, name: str) -> set[str]:
        """What a class of this module and its local ancestors define themselves."""
        node = self.classes.get(name)
        if node is None:
            return set()
        names: set[str] = set()
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                names.add(item.target.id)
            elif isinstance(item, ast.Assign):
                names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        for sub in ast.walk(node):
            targets = sub.targets if isinstance(sub, ast.Assign) else [getattr(sub, "target", None)]
            for target in targets:
                receiver = getattr(target, "value", None)
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(receiver, ast.Name)
                    and receiver.id == "self"
                ):
                    names.add(target.attr)
        for base in node.bases:
            if isinstance(base, ast.Name):
                names |= self.own_names(base.id)
        return names

    def inherited_uses(self) -> set[str]:
        """`Root.member` for each member of an external class reached through `self` or
        `super()`, or overridden, in a class that extends it."""
        found: set[str] = set()
        for name, node in self.classes.items():
            root = self.external_root(name)
            if root is None:
                continue
            own = self.own_names(name)
            overrides = {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and hasattr(resolve(root), item.name)
            }
            found.update(f"{root}.{member}" for member in overrides)
            for sub in ast.walk(node):
                if not isinstance(sub, ast.Attribute):
                    continue
                receiver = sub.value
                through_self = isinstance(receiver, ast.Name) and receiver.id == "self"
                through_super = (
                    isinstance(receiver, ast.Call)
                    and isinstance(receiver.func, ast.Name)
                    and receiver.func.id == "super"
                )
                if through_super or (through_self and sub.attr not in own):
                    found.add(f"{root}.{sub.attr}")
        return found

    def private_attributes(self) -> set[str]:
        """`_x` and dunder attributes read on other objects, private keyword arguments, and
        private names given to getattr."""
        found: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                receiver = node.value
                on_self = isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")
                on_super = isinstance(receiver, ast.Call) and getattr(receiver.func, "id", "") == "super"
                if node.attr.startswith("_") and not (on_self or on_super):  # those: inherited_uses
                    found.add(node.attr)
            elif isinstance(node, ast.Call):
                found.update(k.arg for k in node.keywords if k.arg and k.arg.startswith("_"))
                if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) > 1:
                    name = node.args[1]
                    if isinstance(name, ast.Constant) and str(name.value).startswith("_"):
                        found.add(str(name.value))
        return found - BUILTIN_DUNDERS


USES = {filename: Uses(filename) for filename in SOURCES}


# -- every use is pinned -----------------------------------------------------------------------


CHECKS: dict[str, tuple[Callable[[Uses], set[str]], Callable[[str], bool], str]] = {
    "imports": (
        Uses.private_imports,
        pinned,
        "not graphql-core's or Strawberry's public API, and nothing here pins it. Add its "
        "signature to SIGNATURES (a function), its fields to FIELDS (a named tuple) or an entry "
        "to PRESENT",
    ),
    "uses": (
        Uses.inherited_uses,
        pinned,
        "a member of a graphql-core or Strawberry class that nothing here pins. Add its signature "
        "to SIGNATURES (a method) or an entry to PRESENT (an attribute)",
    ),
    "reads": (
        Uses.private_attributes,
        PRIVATE_ATTRIBUTES.__contains__,
        "a private attribute of another object, which nothing here pins. Add it to "
        "PRIVATE_ATTRIBUTES (and a check)",
    ),
}


@pytest.mark.parametrize("verb", sorted(CHECKS))
def test_every_use_is_pinned(verb: str) -> None:
    uses_of, known, advice = CHECKS[verb]
    missing = sorted(
        f"execution/{filename} {verb} {name}"
        for filename, uses in USES.items()
        for name in uses_of(uses)
        if not known(name)
    )
    assert not missing, f"{missing}: {advice} in tests/test_execution_contract.py."


def test_the_uses_are_read_from_the_source() -> None:
    """The checks above mean something only if the reading finds what is there."""
    planned = USES["planned.py"]
    assert f"{BASE}.execute_fields" in planned.inherited_uses()  # an override
    assert f"{BASE}.execute_field" in planned.inherited_uses()  # a call through self
    assert f"{BASE}.context_value" in planned.inherited_uses()  # an attribute
    assert f"{BASE}._plans" not in planned.inherited_uses()  # planned.py's own
    assert "graphql.execution.executor.to_nodes" in planned.private_imports()
    assert "graphql.GraphQLError" not in planned.private_imports()  # public API
    assert {"_raw_info", "_field", "_strawberry_schema"} <= planned.private_attributes()
    assert "graphql.ValidationRule.report_error" in USES["limits.py"].inherited_uses()


# -- the pins hold -----------------------------------------------------------------------------


@pytest.mark.parametrize("dotted", sorted(SIGNATURES))
def test_signature(dotted: str) -> None:
    found = shape(resolve(dotted))
    assert found == SIGNATURES[dotted], (
        f"{dotted} was ({SIGNATURES[dotted]}) and is now ({found}) with {INSTALLED}. {UPGRADING}"
    )


@pytest.mark.parametrize("dotted", sorted(FIELDS))
def test_fields(dotted: str) -> None:
    owner = resolve(dotted)
    if dataclasses.is_dataclass(owner):
        found = tuple(f.name for f in dataclasses.fields(owner) if f.name in FIELDS[dotted])
    else:
        found = tuple(owner._fields)
    assert found == FIELDS[dotted], (
        f"{dotted} had the fields {FIELDS[dotted]} and now has {found} with {INSTALLED}. {UPGRADING}"
    )


@pytest.mark.parametrize("dotted", sorted(PRESENT))
def test_present(dotted: str) -> None:
    resolve(dotted)  # fails naming it when it is gone


def test_the_executors_extend_strawberrys_execution_context_which_is_graphql_cores_executor() -> None:
    assert issubclass(GuardedExecutor, StrawberryGraphQLCoreExecutionContext)
    assert issubclass(PlannedExecutor, GuardedExecutor)
    assert issubclass(StrawberryGraphQLCoreExecutionContext, graphql.execution.Executor), (
        f"Strawberry's execution context no longer extends graphql-core's Executor ({INSTALLED}). {UPGRADING}"
    )
    # Strawberry serves with it unless told otherwise, and takes ours in its place.
    assert strawberry.Schema(query=Query).execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert SCHEMA.execution_context_class is PlannedExecutor


@pytest.mark.parametrize("executor", [GuardedExecutor, PlannedExecutor])
def test_the_overrides_keep_their_base_methods_signatures(executor: type) -> None:
    for name, member in vars(executor).items():
        base = getattr(StrawberryGraphQLCoreExecutionContext, name, None)
        if not callable(member) or base is None or name.startswith("__") and name != "__init__":
            continue
        assert shape(member) == shape(base), (
            f"{executor.__name__}.{name} is ({shape(member)}), the method it overrides is now "
            f"({shape(base)}) with {INSTALLED}. {UPGRADING}"
        )


def test_complete_leaf_value_and_the_awaitable_checks_need_no_instance() -> None:
    """planned.py keeps `self.complete_leaf_value`, `self.is_awaitable` and
    `self.is_async_iterable` in locals and calls them with the value alone."""
    for name in ("complete_leaf_value", "is_awaitable", "is_async_iterable"):
        static = inspect.getattr_static(StrawberryGraphQLCoreExecutionContext, name)
        assert isinstance(static, staticmethod), (
            f"{BASE}.{name} is no longer a staticmethod with {INSTALLED}. {UPGRADING}"
        )


# -- Strawberry's objects, on a real schema ----------------------------------------------------


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Item(Named):
    name: str

    @strawberry.field
    def shout(self, info: strawberry.Info) -> str:
        return f"{self.name.upper()} ({info.field_name})"


@strawberry.type
class Query:
    @strawberry.field
    def item(self, info: strawberry.Info) -> Item:
        SEEN.append(info)
        return Item(name="one")


SEEN: list[Any] = []
SCHEMA = strawberry.Schema(query=Query, execution_context_class=PlannedExecutor)


def item_type() -> GraphQLObjectType:
    found = SCHEMA._schema.get_type("Item")
    assert isinstance(found, GraphQLObjectType)
    return found


def test_strawberrys_definitions_sit_behind_graphql_cores_types_and_fields() -> None:
    key = GraphQLCoreConverter.DEFINITION_BACKREF
    field = item_type().fields["shout"].extensions.get(key)
    definition = item_type().extensions.get(key)
    assert isinstance(field, StrawberryField), f"no StrawberryField under {key!r} ({INSTALLED}). {UPGRADING}"
    assert isinstance(definition, StrawberryObjectDefinition), (
        f"no StrawberryObjectDefinition under {key!r} ({INSTALLED}). {UPGRADING}"
    )
    assert isinstance(field.base_resolver, StrawberryResolver)
    assert Item.__strawberry_definition__ is definition  # type: ignore[attr-defined]
    assert SCHEMA._schema._strawberry_schema is SCHEMA, (  # type: ignore[attr-defined]
        f"graphql-core's schema no longer leads back to Strawberry's ({INSTALLED}). {UPGRADING}"
    )


def test_the_attributes_execution_reads_on_strawberrys_objects_exist() -> None:
    field = item_type().fields["shout"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    subjects: dict[str, Any] = {
        "StrawberryField": field,
        "StrawberryResolver": field.base_resolver,
        "Schema": SCHEMA,
        "StrawberryConfig": SCHEMA.config,
        "GraphQLCoreConverter": SCHEMA.schema_converter,
        "DataLoader": DataLoader(load_fn=lambda keys: keys),  # type: ignore[arg-type, return-value]
    }
    missing = [
        f"{subject}.{name}"
        for subject, names in INSTANCE_ATTRIBUTES.items()
        for name in names
        if not hasattr(subjects[subject], name)
    ]
    assert not missing, f"{missing} no longer exist with {INSTALLED}. {UPGRADING}"


def test_strawberrys_own_is_type_of_never_reads_the_info() -> None:
    """planned.py calls the is_type_of Strawberry makes for a type with interfaces with no
    info (building one per object would cost what the plan saves)."""
    is_type_of = item_type().is_type_of
    definition = item_type().extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert definition.is_type_of is None and is_type_of is not None  # Strawberry's own
    parameters = list(inspect.signature(is_type_of).parameters)
    assert parameters == ["obj", "_info"], (
        f"Strawberry's is_type_of takes ({', '.join(parameters)}) with {INSTALLED}: does it read "
        f"the info now? {UPGRADING}"
    )
    assert is_type_of(Item(name="x"), None) is True  # type: ignore[arg-type]
    assert is_type_of(object(), None) is False  # type: ignore[arg-type]


def test_the_info_strawberry_gives_a_resolver_wraps_graphql_cores_with_plain_variables() -> None:
    """prefetch.py reads `info._raw_info` (fragments, field_nodes, schema, variable_values)."""
    SEEN.clear()
    result = SCHEMA.execute_sync("query($x: Boolean = true) { item @include(if: $x) { name shout } }")
    assert result.errors is None and result.data == {"item": {"name": "one", "shout": "ONE (shout)"}}
    raw = SEEN[0]._raw_info  # Strawberry's own named tuple, with graphql-core's fields and more
    read = {"fragments", "field_nodes", "schema", "variable_values"}
    assert read <= set(raw._fields), f"{type(raw)}: {raw._fields} ({INSTALLED}). {UPGRADING}"
    # Strawberry passes the coerced values, a plain dict, not graphql-core's VariableValues
    assert raw.variable_values == {"x": True}, f"{raw.variable_values!r} ({INSTALLED}). {UPGRADING}"


def test_lazy_info_answers_as_strawberrys_info() -> None:
    """The planned executor gives a resolver a LazyInfo, which builds the resolve info only when
    something other than `context` is read: every property of Strawberry's Info (found on the
    class, not listed here) must answer as it does on an Info built eagerly from the same."""
    SEEN.clear()
    context = object()
    result = SCHEMA.execute_sync("{ item { name } }", context_value=context)
    assert result.errors is None
    info = SEEN[0]
    assert type(info) is LazyInfo
    assert info.context is context and "_raw_info" not in vars(info)  # not built for the context
    eager = strawberry.Info(_raw_info=info._raw_info, _field=info._field)
    names = [
        n for n, v in vars(strawberry.Info).items() if isinstance(v, property | functools.cached_property)
    ]
    assert {"context", "path", "selected_fields", "variable_values"} <= set(names)
    for name in names:
        assert getattr(info, name) == getattr(eager, name), name


def test_get_argument_values_reads_only_the_coerced_values_of_the_operations_variables() -> None:
    """prefetch.py gives graphql-core `VariableValues(sources={}, coerced=<Strawberry's dict>)`."""
    schema = graphql.build_schema(
        "input Page { size: Int } type Query { f(a: Int, p: Page, d: Int = 7): Int }"
    )
    query = schema.query_type
    assert query is not None
    document = graphql.parse("query($x: Int, $y: Int) { f(a: $x, p: {size: $y}) }")
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, graphql.FieldNode)
    variables = graphql.execution.values.VariableValues(sources={}, coerced={"x": 3, "y": 4})
    found = graphql.execution.values.get_argument_values(query.fields["f"], node, variables)
    assert found == {"a": 3, "p": {"size": 4}, "d": 7}, (
        f"get_argument_values reads more than the coerced variables now ({INSTALLED}). {UPGRADING}"
    )


async def test_a_loaders_cache_holds_a_future_per_key() -> None:
    """prefetch.peek reads a value the loader has without awaiting it."""

    async def load(keys: list[int]) -> list[int]:
        return [k * 10 for k in keys]

    loader = DataLoader(load_fn=load)
    assert await loader.load(1) == 10
    future = loader.cache_map.get(1)
    assert isinstance(future, asyncio.Future) and future.done() and future.result() == 10, (
        f"DataLoader.cache_map no longer holds a done future per key ({INSTALLED}). {UPGRADING}"
    )


def test_the_token_limit_is_a_parse_option_strawberry_passes_on() -> None:
    """limits.QueryLimits sets `parse_options["max_tokens"]`; graphql.parse must take it."""
    with pytest.raises(graphql.GraphQLSyntaxError):
        graphql.parse("{ a b c d }", max_tokens=3)
    limited = strawberry.Schema(query=Query, extensions=[lambda: _MaxTokens(3)])
    result = limited.execute_sync("{ item { name shout } }")
    assert result.errors and "token" in result.errors[0].message.lower(), (
        f"Strawberry no longer passes parse_options to graphql.parse ({INSTALLED}). {UPGRADING}"
    )


class _MaxTokens(strawberry.extensions.SchemaExtension):
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def on_operation(self) -> Any:
        self.execution_context.parse_options["max_tokens"] = self.limit
        yield


@strawberry.type
class _Greeting:
    text: str


@strawberry.type
class _Query:
    ping: str = "pong"


@strawberry.type
class _Subscription:
    @strawberry.subscription
    async def greeting(self) -> _Greeting:  # type: ignore[misc]
        yield _Greeting(text="hi")


@pytest.mark.parametrize("executor_class", [GuardedExecutor, PlannedExecutor])
def test_each_subscription_event_starts_the_executors_per_execution_caches_afresh(
    executor_class: type,
) -> None:
    """graphql-core runs a subscription's events in shallow copies of its executor
    (`build_per_event_executor`), which share its memo of collected subfields, keyed by the ids
    of each event's own field lists: without `start_event` it grows with every event of a
    subscription that stays open (and the read guards would outlive the caller they were
    decided for). The memo is `_relevant_sub_fields`: an event's execution fills its own,
    and drops it with its response."""
    schema = strawberry.Schema(query=_Query, subscription=_Subscription)._schema
    executor = executor_class.build(schema, graphql.parse("subscription { greeting { text } }"))
    for n in range(3):
        event = executor.build_per_event_executor(_Greeting(text=f"hi {n}"))  # the event, as yielded
        assert event._relevant_sub_fields == {} and event._read_guards == {}
        assert event.execute_operation(False).data == {"greeting": {"text": f"hi {n}"}}
        # the event's memo (greeting's subfields) went with its response (build_response)
        assert event._relevant_sub_fields == {} and getattr(event, "_plans", {}) == {}
    assert executor._relevant_sub_fields == {}  # nothing kept across events
