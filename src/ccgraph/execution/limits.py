"""Query limits (OWASP GraphQL cheat sheet): depth, aliases, tokens and an estimated cost,
checked before anything runs. Each refusal is a GraphQL error with its own `extensions.code`.

Cost: every field costs 1; a field that returns a page costs its page size (`first` or
`last`, 100 when it is a variable, 20 by default) times what is selected under it (its edges
are that page), a list of objects asked for by `ids` (`nodes(ids:)`) as many times as it
gives IDs (100 when it is a variable), and any other list 10 times. A numbered page (`page`)
adds one per row it skips, as the database reads them (as many as `MAX_NUMBERED_ROWS`
allows when `page` is a variable). Introspection (`__schema`, `__type`) is not counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.extensions import SchemaExtension

from ccgraph.config import Settings
from ccgraph.services.pagination import DEFAULT_PAGE_SIZE, MAX_NUMBERED_ROWS, MAX_PAGE_SIZE

LIST_ESTIMATE = 10


def _is_list(type_: Any) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


CEILING = 10**15  # any measure beyond every limit is reported as this: no arithmetic overflows


def _cap(value: int) -> int:
    return min(value, CEILING)


class _Measure:
    """Depth, cost and aliases of an operation, linear in the document: each fragment is
    measured once (`fragments`), and its spreads add its figures instead of walking it again,
    so fragments that spread each other twice over cannot double the work per level."""

    def __init__(self, context: ValidationContext) -> None:
        self.context = context
        self.fragments: dict[str, tuple[int, int, int]] = {}
        self.visits = 0  # selection sets walked: at most one per fragment and per field

    def walk(self, selection_set: SelectionSetNode | None, parent: Any) -> tuple[int, int, int]:
        """(depth, cost, aliases) of a selection set."""
        depth = cost = aliases = 0
        if selection_set is None:
            return depth, cost, aliases
        self.visits += 1
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_type = self.context.schema.get_type(condition.name.value) if condition else None
                inner = self.walk(selection.selection_set, inner_type or parent)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self._fragment(selection.name.value, parent)
            else:
                continue
            depth = max(depth, inner[0])
            cost = _cap(cost + inner[1])
            aliases = _cap(aliases + inner[2])
        return depth, cost, aliases

    def _fragment(self, name: str, parent: Any) -> tuple[int, int, int]:
        if name not in self.fragments:
            self.fragments[name] = (0, 0, 0)  # a cycle (refused by validation) adds nothing
            fragment = self.context.get_fragment(name)
            if fragment is not None:
                inner_type = self.context.schema.get_type(fragment.type_condition.name.value) or parent
                self.fragments[name] = self.walk(fragment.selection_set, inner_type)
        return self.fragments[name]

    def _field(self, node: FieldNode, parent_type: Any) -> tuple[int, int, int]:
        name = node.name.value
        aliases = 1 if node.alias is not None else 0
        if name.startswith("__"):
            return 0, 0, aliases
        field = parent_type.fields.get(name) if isinstance(parent_type, GraphQLObjectType) else None
        child_type = get_named_type(field.type) if field is not None else None
        depth, cost, inner_aliases = self.walk(node.selection_set, child_type)
        # a connection's edges are its page, already counted by the connection's size
        in_page = getattr(parent_type, "name", "").endswith("Connection")
        multiplier = 1 if in_page else self._multiplier(node, field)
        skipped = 0 if in_page else _skipped(node, field, multiplier)
        return depth + 1, _cap(1 + multiplier * cost + skipped), _cap(aliases + inner_aliases)

    def _multiplier(self, node: FieldNode, field: Any) -> int:
        if field is None:
            return 1
        if "first" in field.args or "last" in field.args:
            size = None
            for argument in node.arguments or ():
                if argument.name.value in ("first", "last"):
                    value = argument.value
                    size = _cap(int(value.value)) if isinstance(value, IntValueNode) else MAX_PAGE_SIZE
            return max(size if size is not None else DEFAULT_PAGE_SIZE, 1)
        if "ids" in field.args and _is_list(field.type):
            for argument in node.arguments or ():
                if argument.name.value == "ids":
                    value = argument.value
                    if isinstance(value, VariableNode):
                        return MAX_PAGE_SIZE
                    return len(value.values) if isinstance(value, ListValueNode) else 1
        return LIST_ESTIMATE if _is_list(field.type) else 1


def _skipped(node: FieldNode, field: Any, size: int) -> int:
    """The rows a numbered page of `size` skips (OFFSET): as many as the bound allows when
    `page` is a variable, and no more for a literal (the resolver refuses a page beyond the
    bound, with a clearer message than the cost's)."""
    if field is None or "page" not in field.args:
        return 0
    most = max(MAX_NUMBERED_ROWS - size, 0)
    for argument in node.arguments or ():
        if argument.name.value == "page":
            value = argument.value
            if isinstance(value, IntValueNode):
                return min(max(int(value.value) - 1, 0) * size, most)
            return 0 if isinstance(value, NullValueNode) else most
    return 0


def limits_rule(settings: Settings) -> type[ValidationRule]:
    class QueryLimitsRule(ValidationRule):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if "\x00" in node.value:  # no database stores it: refused before anything runs
                self.report_error(
                    GraphQLError(
                        "Strings may not contain NUL (\\u0000) characters.",
                        node,
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                )

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            measure = _Measure(self.context)
            depth, cost, aliases = measure.walk(node.selection_set, root)
            name = node.name.value if node.name else "the operation"
            if depth > settings.max_query_depth:
                self.report_error(
                    GraphQLError(
                        f"{name} is {depth} fields deep; at most {settings.max_query_depth} are allowed.",
                        node,
                        extensions={
                            "code": "QUERY_TOO_DEEP",
                            "depth": depth,
                            "limit": settings.max_query_depth,
                        },
                    )
                )
            if aliases > settings.max_query_aliases:
                self.report_error(
                    GraphQLError(
                        f"{name} uses {aliases} aliases; at most {settings.max_query_aliases} are allowed.",
                        node,
                        extensions={
                            "code": "TOO_MANY_ALIASES",
                            "aliases": aliases,
                            "limit": settings.max_query_aliases,
                        },
                    )
                )
            if cost > settings.max_query_cost:
                self.report_error(
                    GraphQLError(
                        f"{name} would cost about {cost}; at most {settings.max_query_cost} is allowed. "
                        "Ask for smaller pages or fewer nested lists.",
                        node,
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": cost,
                            "limit": settings.max_query_cost,
                        },
                    )
                )

    return QueryLimitsRule


class QueryLimits(SchemaExtension):
    """Built per request (see `build_schema`) around one rule class made from the settings."""

    def __init__(self, max_tokens: int, rule: type[ValidationRule]) -> None:
        self.max_tokens = max_tokens
        self.rule = rule

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        self.execution_context.validation_rules = (*self.execution_context.validation_rules, self.rule)
        yield
