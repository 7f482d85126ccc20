"""Keyset (cursor) pagination: stable under insertions, so a selection made across pages
stays valid. A page of one list, or a page per parent in one statement (nested connections).
A root list can also jump to a numbered page: OFFSET over the same ordering, bounded."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Column as SqlColumn
from sqlalchemy import ColumnElement, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db.base import UtcDateTime
from ccgraph.db.records import columns, fetch_records, key_in, record_model
from ccgraph.db.search import Column
from ccgraph.services.errors import InputError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# A numbered page is read with OFFSET: the database reads every row it skips. Its last row
# (page x size) may be at most this far into the list; beyond it, cursors (or a filter) go on.
MAX_NUMBERED_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    number: int | None = None  # a numbered page (1-based) of `first` rows, instead of a cursor

    def size(self) -> int:
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise InputError(name, f"must be between 0 and {MAX_PAGE_SIZE}, got {value}")
        if self.first is not None and self.last is not None:
            raise InputError("last", "give either first or last, not both")
        if self.first is not None:
            size = self.first
        else:
            size = self.last if self.last is not None else DEFAULT_PAGE_SIZE
        if self.number is not None:
            self._check_number(self.number, size)
        return size

    def _check_number(self, number: int, size: int) -> None:
        for name in ("after", "before", "last"):
            if getattr(self, name) is not None:
                raise InputError(
                    "page",
                    f"cannot be combined with {name}: a numbered page is counted from the start "
                    "of the list, `first` rows a page (follow a cursor with after or before alone)",
                )
        if number < 1:
            raise InputError("page", f"must be 1 or more, got {number}")
        if size < 1:
            raise InputError("first", "must be 1 or more with page")
        if number * size > MAX_NUMBERED_ROWS:
            raise InputError(
                "page",
                f"page {number} of {size} rows ends at row {number * size:,}; numbered "
                f"pages reach at most row {MAX_NUMBERED_ROWS:,}: go on from a page's endCursor "
                "with after, or narrow the list with a filter or search",
            )

    @property
    def backwards(self) -> bool:
        return self.last is not None

    def offset(self, size: int) -> int:
        """The rows a numbered page skips (0 when it is not numbered)."""
        return (self.number - 1) * size if self.number is not None else 0


@dataclass(frozen=True, slots=True)
class Ordering:
    """Sort key columns; the last one must be unique (the primary key) so the order is total."""

    columns: tuple[Column, ...]
    descending: bool = False

    def clauses(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        down = self.descending != reverse
        return [c.desc() if down else c.asc() for c in self.columns]

    def cursor_for(self, keys: Sequence[Any]) -> str:
        values = [_jsonable(k) for k in keys]
        return base64.urlsafe_b64encode(orjson.dumps(values)).decode()

    def decode(self, argument: str, cursor: str) -> tuple[Any, ...]:
        try:
            values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if not isinstance(values, list) or len(values) != len(self.columns):
                raise ValueError
            return tuple(_key(c, v) for c, v in zip(self.columns, values, strict=True))
        except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, NotImplementedError) as exc:
            raise InputError(argument, "is not a cursor of this list") from exc

    def after(self, argument: str, cursor: str) -> ColumnElement[bool]:
        key = tuple_(*self.columns)
        value = tuple_(*self.decode(argument, cursor))
        return key < value if self.descending else key > value

    def before(self, argument: str, cursor: str) -> ColumnElement[bool]:
        key = tuple_(*self.columns)
        value = tuple_(*self.decode(argument, cursor))
        return key > value if self.descending else key < value


INT64 = 2**63


def _key(column: Any, value: Any) -> Any:
    """A cursor's value for `column`, of the column's type, or ValueError: a forged cursor
    never reaches the database (as a dict, a float for an integer, a string with NUL...)."""
    if value is None and getattr(column, "nullable", True):
        return None
    if isinstance(column.type, UtcDateTime):
        if not isinstance(value, str):
            raise ValueError
        return datetime.fromisoformat(value)
    kind = column.type.python_type
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64
    elif kind is str:
        ok = isinstance(value, str) and "\x00" not in value
    else:
        ok = False
    if not ok:
        raise ValueError
    return value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(slots=True)
class Page:
    """Rows of the page in order, each with the row it was read as, which holds its sort keys
    at the positions `keys` (a cursor is made from them when asked for)."""

    rows: list[Any]
    read: list[Sequence[Any]]
    keys: tuple[int, ...]
    ordering: Ordering
    has_next_page: bool
    has_previous_page: bool
    number: int | None = None  # a numbered page's number, of `size` rows
    size: int = 0

    def cursor(self, index: int) -> str:
        row = self.read[index]
        return self.ordering.cursor_for([row[i] for i in self.keys])

    def edge_cursor(self, index: int) -> str | None:
        """The cursor of the row at `index`; None on an empty page."""
        return self.cursor(index) if self.read else None

    def page_count(self, total: int) -> int:
        """How many pages of this one's size a list of `total` rows holds (0 when it is empty)."""
        return -(-total // self.size)


def _windowed(stmt: Select[Any], ordering: Ordering, args: PageArgs) -> Select[Any]:
    if args.after:
        stmt = stmt.where(ordering.after("after", args.after))
    if args.before:
        stmt = stmt.where(ordering.before("before", args.before))
    return stmt


def _page(
    rows: list[Any],
    read: list[Sequence[Any]],
    ordering: Ordering,
    args: PageArgs,
    size: int,
    keys: tuple[int, ...] | None = None,
) -> Page:
    """`rows[i]` as shown, read as `read[i]`, which holds the sort keys at the positions `keys`
    (by default, they end it); one more row than `size` means there is more."""
    more = len(rows) > size
    rows, read = rows[:size], read[:size]
    if args.backwards:
        rows.reverse()
        read.reverse()
        has_next, has_previous = args.before is not None, more
    else:
        has_next, has_previous = more, args.after is not None or args.offset(size) > 0
    return Page(
        rows=rows,
        read=read,
        keys=keys if keys is not None else tuple(range(-len(ordering.columns), 0)),
        ordering=ordering,
        has_next_page=has_next,
        has_previous_page=has_previous,
        number=args.number,
        size=size,
    )


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    ordering: Ordering,
    args: PageArgs,
    unread: Mapping[Any, frozenset[str]] | None = None,
) -> Page:
    """One page of `stmt`'s rows. `stmt` selects what the page shows; sort keys are added. A
    model selected whole comes as records (db.records), unless it is one read mapped, without
    the columns `unread` names for it."""
    size = args.size()
    model = record_model(stmt)
    if model is not None:
        stmt = stmt.with_only_columns(*columns(model, (unread or {}).get(model, frozenset())))
    keys = [c.label(f"page_k{i}") for i, c in enumerate(ordering.columns)]
    stmt = _windowed(stmt, ordering, args).add_columns(*keys)
    stmt = stmt.order_by(*ordering.clauses(reverse=args.backwards)).limit(size + 1)
    if args.number is not None:
        stmt = stmt.offset(args.offset(size))
    if model is not None:  # the record is shown as it is (its sort keys at its end)
        records = await fetch_records(session, stmt)
        return _page(records, records, ordering, args, size)
    read = (await session.execute(stmt)).all()
    shown = [r[0] if len(r) == len(keys) + 1 else tuple(r[: -len(keys)]) for r in read]
    return _page(shown, list(read), ordering, args, size)


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    return (
        await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class ParentPages:
    """The statement that reads a page per parent (`pages_by_parent`), with how its rows are
    laid out. It takes the parents and the page's size as the bound parameters `page_parents`
    and `page_limit`, so one built statement serves every request that pages alike."""

    statement: Select[Any]
    width: int  # the entity's columns (as_rows), or 1 (the mapped entity)
    extras: int
    as_rows: bool
    keys: tuple[int, ...]  # where a row holds its sort keys


def pages_by_parent(
    stmt: Select[Any],
    entity: Any,
    parent: Column,
    ordering: Ordering,
    args: PageArgs,
    extras: Sequence[Column] = (),
    as_rows: bool = False,
    unread: frozenset[str] = frozenset(),
) -> ParentPages:
    """A page per parent in one statement: ROW_NUMBER() over each parent's rows.

    `stmt` selects `entity` (plus `extras`) joined to the parent column. The statement depends
    on `args` only by its cursors (`after`, `before`) and direction, not its size.
    `as_rows` gives each entity as a plain row of its table's columns (but those `unread`),
    not a mapped object. A sort key that is a column the row shows is read there, not twice
    (for skills by name: 1,224 names fewer a page)."""
    assert args.number is None, "nested connections are paged by cursor only"
    stmt = _windowed(stmt, ordering, args).where(key_in(parent, "page_parents"))
    rank = func.row_number().over(partition_by=parent, order_by=ordering.clauses(args.backwards))
    n_extras = len(extras)
    shown = columns(entity, unread) if as_rows else (entity,)
    at = {c.name: i for i, c in enumerate(shown) if isinstance(c, SqlColumn) and c.table is entity.__table__}
    shown_at = [
        at.get(c.name) if getattr(c, "table", None) is entity.__table__ else None for c in ordering.columns
    ]
    added = [i for i, position in enumerate(shown_at) if position is None]  # read from the page
    inner = stmt.with_only_columns(
        entity.id.label("page_id"),
        *[e.label(f"page_x{i}") for i, e in enumerate(extras)],
        parent.label("page_parent"),
        rank.label("page_rank"),
        *[ordering.columns[i].label(f"page_k{i}") for i in added],
    ).subquery()
    outer = (
        select(
            *shown,
            *[inner.c[f"page_x{i}"] for i in range(n_extras)],
            inner.c["page_parent"],
            *[inner.c[f"page_k{i}"] for i in added],
        )
        .join(inner, entity.id == inner.c["page_id"])
        .where(inner.c["page_rank"] <= bindparam("page_limit"))
        .order_by(inner.c["page_parent"], inner.c["page_rank"])
    )
    after = len(shown) + n_extras + 1  # the first added key
    keys = tuple(p if p is not None else after + added.index(i) for i, p in enumerate(shown_at))
    return ParentPages(outer, len(shown), n_extras, as_rows, keys)


async def fetch_pages_by_parent(
    session: AsyncSession, pages: ParentPages, parent_ids: Sequence[int], ordering: Ordering, args: PageArgs
) -> dict[int, Page]:
    """Each parent's page (of `pages`, built for the same `ordering` and `args`): its entity
    rows, or `(entity, *extras)` tuples when extras are given."""
    size = args.size()
    width, n_extras = pages.width, pages.extras
    params = {"page_parents": list(parent_ids), "page_limit": size + 1}
    if pages.as_rows:
        rows = await fetch_records(session, pages.statement, params)
    else:
        rows = (await session.execute(pages.statement, params)).all()
    grouped: dict[int, list[Any]] = defaultdict(list)
    parent_at = width + n_extras
    for r in rows:
        grouped[r[parent_at]].append(r)
    found = {}
    for pid in parent_ids:
        read = grouped.get(pid, [])
        if n_extras:
            shown = [(r if pages.as_rows else r[0], *r[width:parent_at]) for r in read]
        else:
            shown = read if pages.as_rows else [r[0] for r in read]
        found[pid] = _page(shown, read, ordering, args, size, pages.keys)
    return found


async def count_by_parent(
    session: AsyncSession, stmt: Select[Any], parent: Column, parent_ids: Sequence[int]
) -> dict[int, int]:
    inner = stmt.order_by(None).where(parent.in_(parent_ids)).add_columns(parent.label("page_parent"))
    sub = inner.subquery()
    rows = await session.execute(select(sub.c["page_parent"], func.count()).group_by(sub.c["page_parent"]))
    counts: dict[int, int] = {parent: n for parent, n in rows.all()}
    return {pid: counts.get(pid, 0) for pid in parent_ids}
