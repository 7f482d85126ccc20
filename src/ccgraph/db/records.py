"""Rows read only to be shown, as plain named tuples.

SQLAlchemy's `Row` finds an attribute by name in about 0.4 µs; a named tuple in 0.03 µs. A
page of 100 users with their skills, queues and profiles reads some 15,000 attributes of such
rows, so the loaders turn each result into records once (0.4 µs a row) and read those.

Such statements select columns only, so they run on the session's connection (Core) rather
than through `session.execute`: the ORM's per-statement set-up and row processing (some 0.3 ms
a statement, and a tuple per row) buys nothing for rows that are never mapped."""

from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any

from sqlalchemy import ARRAY, Boolean, ColumnElement, CursorResult, Select, any_, bindparam, null
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from ccgraph.db.models import BusinessUnit

# The models whose rows are read as mapped objects (their readers call the model's methods);
# every other model's rows are read as records.
MAPPED = frozenset({BusinessUnit})


@functools.cache
def record_type(fields: tuple[str, ...]) -> Any:
    """The record class of one shape of result (its column names)."""
    return namedtuple("Record", fields)


def records(result: CursorResult[Any]) -> list[Any]:
    """The result's rows as records: the same values, read by position or by column name.
    When SQLAlchemy would convert none of the driver's values (asyncpg gives every column of
    most tables as it is shown), the records are made from the driver's rows, without a Row
    object each in between (0.85 -> 0.5 ms for a page's 1,224 skill rows)."""
    make = record_type(tuple(result.keys()))._make
    if any(result._metadata._processors or (True,)):
        return list(map(make, result.all()))
    try:
        return list(map(make, result.cursor.fetchall()))
    finally:
        result.close()


@functools.lru_cache(maxsize=512)
def columns(model: Any, unread: frozenset[str] = frozenset()) -> tuple[ColumnElement[Any], ...]:
    """The columns of `model`'s table, to read as records; those `unread` come as NULL under
    their own names (the record keeps its shape; the database sends nothing for them). Built
    once per model and unread set: a page of users would otherwise build some 60 labels."""
    return tuple(null().label(c.name) if c.name in unread else c for c in model.__table__.c)


def record_model(stmt: Select[Any]) -> Any | None:
    """The model `stmt` selects whole and alone, when its rows can be read as records (see
    MAPPED); else None."""
    selected = stmt.column_descriptions
    if len(selected) != 1:
        return None
    model = selected[0]["expr"]
    return (
        model if isinstance(model, type) and model is selected[0]["entity"] and model not in MAPPED else None
    )


async def fetch_records(
    session: AsyncSession, stmt: Select[Any], params: dict[str, Any] | None = None
) -> list[Any]:
    """The rows of `stmt`, a select of columns, as records, in the session's transaction."""
    connection = await session.connection()
    return records(await connection.execute(stmt, params))


class _KeyIn(ColumnElement[bool]):
    """`column IN (…)` for the list of keys bound at execution as `name` (see `key_in`)."""

    __visit_name__ = "ccgraph_key_in"
    _traverse_internals = [
        ("listed", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.listed = column.in_(bindparam(name, expanding=True))
        self.array = column == any_(bindparam(name, type_=ARRAY(column.type)))


def key_in(column: Any, name: str) -> ColumnElement[bool]:
    """`column` is one of the keys given at execution as the list `name`: a statement built
    once for any number of keys. PostgreSQL receives the keys as one array (`= ANY($1)`);
    elsewhere the list is written out as `IN ($1, $2, …)` when the statement runs, which costs
    some 0.3 ms for a hundred keys, each time."""
    return _KeyIn(column, name)


@compiles(_KeyIn)
def _listed(element: _KeyIn, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.listed, **kw))


@compiles(_KeyIn, "postgresql")
def _array(element: _KeyIn, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.array, **kw))
