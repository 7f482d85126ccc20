"""Query limits (OWASP GraphQL cheat sheet): depth, aliases, tokens and an estimated cost,
checked before anything runs. Each refusal is a GraphQL error with its own `extensions.code`.

Cost: every field costs 1; a field that returns a page costs its page size (`first` or
`last`, 100 when it is a variable, 20 by default) times what is selected under it (its edges
are that page), and a plain list 10 times. Introspection (`__schema`, `__type`) is not counted."""

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
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.extensions import SchemaExtension

from ccgraph.config import Settings
from ccgraph.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_ESTIMATE = 10


def _is_list(type_: Any) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


class _Measure:
    def __init__(self, context: ValidationContext) -> None:
        self.context = context
        self.aliases = 0

    def selections(
        self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, Any]]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                inner = parent
                if selection.type_condition is not None:
                    inner = self.context.schema.get_type(selection.type_condition.name.value) or parent
                yield from self.selections(selection.selection_set, inner, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    inner = self.context.schema.get_type(fragment.type_condition.name.value) or parent
                    yield from self.selections(fragment.selection_set, inner, seen | {selection.name.value})

    def walk(
        self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str] = frozenset()
    ) -> tuple[int, int]:
        """(depth, cost) of a selection set."""
        depth, cost = 0, 0
        for node, parent_type in self.selections(selection_set, parent, seen):
            name = node.name.value
            if node.alias is not None:
                self.aliases += 1
            if name.startswith("__"):
                continue
            field = parent_type.fields.get(name) if isinstance(parent_type, GraphQLObjectType) else None
            child_type = get_named_type(field.type) if field is not None else None
            inner_depth, inner_cost = self.walk(node.selection_set, child_type, seen)
            depth = max(depth, 1 + inner_depth)
            # a connection's edges are its page, already counted by the connection's size
            in_page = getattr(parent_type, "name", "").endswith("Connection")
            cost += 1 + (1 if in_page else self._multiplier(node, field)) * inner_cost
        return depth, cost

    def _multiplier(self, node: FieldNode, field: Any) -> int:
        if field is None:
            return 1
        if "first" in field.args or "last" in field.args:
            size = None
            for argument in node.arguments or ():
                if argument.name.value in ("first", "last"):
                    value = argument.value
                    size = int(value.value) if isinstance(value, IntValueNode) else MAX_PAGE_SIZE
            return max(size if size is not None else DEFAULT_PAGE_SIZE, 1)
        return LIST_ESTIMATE if _is_list(field.type) else 1


def limits_rule(settings: Settings) -> type[ValidationRule]:
    class QueryLimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            measure = _Measure(self.context)
            depth, cost = measure.walk(node.selection_set, root)
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
            if measure.aliases > settings.max_query_aliases:
                self.report_error(
                    GraphQLError(
                        f"{name} uses {measure.aliases} aliases; "
                        f"at most {settings.max_query_aliases} are allowed.",
                        node,
                        extensions={
                            "code": "TOO_MANY_ALIASES",
                            "aliases": measure.aliases,
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
