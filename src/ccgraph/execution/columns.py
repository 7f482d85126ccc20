"""The columns an operation leaves unread: a request's loaders read only what its fields show.

A node type declares the columns of its model that are only ever shown, each by the field
that shows it (`Shows`, put on the type by the schema: `node.node_type(shows=...)`), and the
columns no field reads at all. Before an operation runs, `unshown` walks its document: every
field it selects anywhere, under fragments and on interfaces too (a field selected on an
interface counts for each type that implements it), and per model the declared columns that
no selected field shows. The request's loaders read those as NULL under their own names, so
a row keeps its shape and its record type (db.records.columns), and the database sends
nothing for them: on a page of 100 users with their skills, some 8,000 values fewer.

What is not declared is always read: keys, foreign keys, anything a rule reads (who may see a
row, effective settings). The walk over-counts, never under-counts (`@skip`/`@include` are
ignored: a field that may be shown is read); and only a request's own context takes the
result, which runs one operation (`Context.leave_unread`), never a WebSocket's, whose loaders
serve several documents."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.collect_fields import FragmentDetails

SHOWS = "ccgraph.shows"  # the key of a type's `Shows` in its extensions
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Shows:
    """The columns of `model` that only fields of the type show (field name -> columns), and
    the columns no field reads (`unread`)."""

    model: Any
    fields: Mapping[str, tuple[str, ...]]
    unread: tuple[str, ...] = ()


def unshown(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]
) -> dict[Any, frozenset[str]]:
    """Per model, the declared columns that no field of `operation` shows."""
    root = schema.get_root_type(operation.operation)
    selected: dict[str, set[str]] = defaultdict(set)
    walked: set[str] = set()

    def walk(parent: GraphQLNamedType | None, selection_set: SelectionSetNode) -> None:
        if parent is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                kinds = schema.get_possible_types(parent) if is_abstract_type(parent) else [parent]
                for kind in kinds:
                    selected[kind.name].add(name)
                field = getattr(parent, "fields", {}).get(name)
                if field is not None and selection.selection_set is not None:
                    walk(get_named_type(field.type), selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                walk(schema.get_type(condition.name.value) if condition else parent, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                details = fragments.get(name)
                if details is not None and name not in walked:  # its type condition says where
                    walked.add(name)
                    fragment = details.definition
                    walk(schema.get_type(fragment.type_condition.name.value), fragment.selection_set)

    walk(root, operation.selection_set)
    shown: dict[Any, set[str]] = defaultdict(set)
    for name, shows in _declarations(schema):
        for field in selected.get(name, ()):
            shown[shows.model].update(shows.fields.get(field, ()))
    return {model: frozenset(columns - shown[model]) for model, columns in _declared(schema).items()}


@functools.lru_cache(maxsize=8)
def _declarations(schema: GraphQLSchema) -> list[tuple[str, Shows]]:
    """The types that declare what they show, by name."""
    return [
        (name, type_.extensions[SHOWS])
        for name, type_ in schema.type_map.items()
        if SHOWS in type_.extensions
    ]


@functools.lru_cache(maxsize=8)
def _declared(schema: GraphQLSchema) -> dict[Any, frozenset[str]]:
    """Per model, every column its types declare."""
    declared: dict[Any, set[str]] = defaultdict(set)
    for _, shows in _declarations(schema):
        declared[shows.model].update(shows.unread, *shows.fields.values())
    return {model: frozenset(columns) for model, columns in declared.items()}
