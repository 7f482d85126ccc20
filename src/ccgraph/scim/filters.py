"""SCIM filters (RFC 7644 §3.4.2.2) as SQL: scim2-models parses and checks the filter against
the resource's model; this visitor turns its syntax tree into a WHERE clause over the columns
that hold each attribute. String comparisons ignore case, but for the caseExact attributes
(ids, `externalId`: RFC 7643 §3.1); an attribute with no column to compare is an
`invalidFilter`, never a silent "match nothing"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from ccgraph.scim.ids import pk_of

Clause = ColumnElement[bool]
Op = CompareOperator


@dataclass(frozen=True, slots=True)
class Ref:
    """A column holding the primary key of a `type_name` object: compared by SCIM id."""

    column: Any
    type_name: str


@dataclass(frozen=True, slots=True)
class Exact:
    """A string column compared case-exactly (a caseExact attribute, e.g. `externalId`)."""

    column: Any


@dataclass(frozen=True, slots=True)
class Custom:
    """An attribute with no column of its own: `compare(op, value)` and `present()` build SQL."""

    compare: Callable[[CompareOperator, Any], Clause]
    present: Callable[[], Clause]


# What a (sub-)attribute is: a column, an id column, a custom clause, or a constant every
# resource has (emails are all of type "work").
Target = Any
# A multi-valued or complex attribute: one entry per value, sub-attribute (lower case) -> target.
Entries = list[dict[str, Target]]


@dataclass(frozen=True, slots=True)
class Attributes:
    """Where a resource type keeps each attribute: (schema, name in lower case) -> target for
    single values, -> entries for complex and multi-valued ones."""

    schema: str
    simple: dict[tuple[str, str], Target]
    complex: dict[tuple[str, str], Entries]

    def key(self, path: AttrPath) -> tuple[str, str]:
        return ((path.uri or self.schema).lower(), path.attr.lower())


def to_sql(node: FilterNode, attributes: Attributes) -> Clause:
    return _Sql(attributes).visit(node)


def _invalid(message: str) -> InvalidFilterException:
    return InvalidFilterException(detail=message)


class _Sql(FilterVisitor[Clause]):
    def __init__(self, attributes: Attributes, entry: dict[str, Target] | None = None) -> None:
        self.attributes = attributes
        self.entry = entry  # inside `emails[...]`: the value's sub-attributes

    def visit_logical_expr(self, node: LogicalExpr) -> Clause:
        terms = [self.visit(t) for t in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_not(self, node: Not) -> Clause:
        return not_(self.visit(node.expr))

    def visit_comparison(self, node: Comparison) -> Clause:
        return or_(*(_compare(t, node.op, node.value) for t in self._targets(node.attr_path)))

    def visit_present(self, node: Present) -> Clause:
        return or_(*(_present(t) for t in self._targets(node.attr_path)))

    def visit_value_path(self, node: ValuePath) -> Clause:
        entries = self.attributes.complex.get(self.attributes.key(node.attr_path))
        if entries is None or self.entry is not None:
            raise _invalid(f"{node.attr_path} cannot be filtered on")
        return or_(*(_Sql(self.attributes, entry).visit(node.val_filter) for entry in entries))

    def _targets(self, path: AttrPath) -> list[Target]:
        """What `path` compares: one target, or one per value of a multi-valued attribute
        (`phoneNumbers eq "x"` matches any of the numbers)."""
        if self.entry is not None:  # inside a value path, `path.attr` is a sub-attribute
            return [self._sub(self.entry, path.attr, path)]
        key = self.attributes.key(path)
        if key in self.attributes.simple and path.sub_attr is None:
            return [self.attributes.simple[key]]
        entries = self.attributes.complex.get(key)
        if entries is None:
            raise _invalid(f"{path} cannot be filtered on")
        return [self._sub(e, path.sub_attr or "value", path) for e in entries]

    @staticmethod
    def _sub(entry: dict[str, Target], name: str, path: AttrPath) -> Target:
        if name.lower() not in entry:
            raise _invalid(f"{path} cannot be filtered on")
        return entry[name.lower()]


def _present(target: Target) -> Clause:
    if isinstance(target, Custom):
        return target.present()
    if isinstance(target, Ref):
        return target.column.is_not(None)
    if isinstance(target, Exact):
        target = target.column
    if not _is_column(target):
        return true() if target not in (None, "") else false()
    if _python_type(target) is str:
        return and_(target.is_not(None), target != "")
    return target.is_not(None)


def _is_column(target: Target) -> bool:
    return hasattr(target, "__clause_element__") or isinstance(target, ColumnElement)


def _compare(target: Target, op: CompareOperator, value: Any) -> Clause:
    if isinstance(target, Custom):
        return target.compare(op, value)
    if isinstance(target, Ref):
        if op not in (Op.eq, Op.ne):
            raise _invalid(f"an id is compared with eq or ne, not {op.value}")
        pk = pk_of(target.type_name, value) if isinstance(value, str) else None
        if pk is None:
            return false() if op == Op.eq else true()
        return target.column == pk if op == Op.eq else or_(target.column != pk, target.column.is_(None))
    exact = isinstance(target, Exact)
    if exact:
        target = target.column
    if not _is_column(target):
        return true() if _python_compare(target, op, value) else false()
    if isinstance(value, bool) or value is None:
        if op not in (Op.eq, Op.ne):
            raise _invalid(f"{op.value} needs a string, a number or a date")
        clause = target.is_(None) if value is None else target.is_(value)
        return clause if op == Op.eq else not_(clause)
    if isinstance(value, datetime) or _is_datetime(target):
        return _ordered(target, op, _as_datetime(value))
    if isinstance(value, int | float):
        return _ordered(target, op, value)
    return _string(target, op, str(value), exact=exact)


def _python_type(target: Any) -> type | None:
    try:
        found: type = target.type.python_type
    except (AttributeError, NotImplementedError):
        return None
    return found


def _is_datetime(target: Any) -> bool:
    return _python_type(target) is datetime


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(f"{value!r} is not a date and time (RFC 3339)") from exc


def _ordered(column: Any, op: CompareOperator, value: Any) -> Clause:
    comparisons: dict[CompareOperator, Callable[[Any, Any], Clause]] = {
        Op.eq: lambda c, v: c == v,
        Op.ne: lambda c, v: c != v,
        Op.gt: lambda c, v: c > v,
        Op.ge: lambda c, v: c >= v,
        Op.lt: lambda c, v: c < v,
        Op.le: lambda c, v: c <= v,
    }
    if op not in comparisons:
        raise _invalid(f"{op.value} compares strings only")
    return comparisons[op](column, value)


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(column: Any, op: CompareOperator, value: str, *, exact: bool = False) -> Clause:
    """A string comparison; ignoring case, unless `exact`. An exact `co`/`sw`/`ew` is built from
    functions SQLite and PostgreSQL share, not LIKE (SQLite's LIKE ignores the case of ASCII
    letters): a value occurs in a string when removing it changes the string."""
    if exact:
        if op in (Op.co, Op.sw, Op.ew) and not value:
            return column.is_not(None)
        if op == Op.co:
            return func.replace(column, value, "") != column
        if op == Op.sw:
            return func.substr(column, 1, len(value)) == value
        if op == Op.ew:
            return func.substr(column, func.length(column) - len(value) + 1) == value
        if op == Op.ne:
            return or_(column != value, column.is_(None))
        return _ordered(column, op, value)
    lowered = func.lower(column)
    if op == Op.co:
        return lowered.like(f"%{_like(value.lower())}%", escape="\\")
    if op == Op.sw:
        return lowered.like(f"{_like(value.lower())}%", escape="\\")
    if op == Op.ew:
        return lowered.like(f"%{_like(value.lower())}", escape="\\")
    if op == Op.ne:
        return or_(lowered != value.lower(), column.is_(None))
    return _ordered(lowered, op, value.lower())


def _python_compare(constant: Any, op: CompareOperator, value: Any) -> bool:
    """A comparison with a constant every resource has, e.g. `emails[type eq "work"]`."""
    if isinstance(constant, str) and isinstance(value, str):
        a, b = constant.lower(), value.lower()
        checks: dict[CompareOperator, Callable[[], bool]] = {
            Op.eq: lambda: a == b,
            Op.ne: lambda: a != b,
            Op.co: lambda: b in a,
            Op.sw: lambda: a.startswith(b),
            Op.ew: lambda: a.endswith(b),
            Op.gt: lambda: a > b,
            Op.ge: lambda: a >= b,
            Op.lt: lambda: a < b,
            Op.le: lambda: a <= b,
        }
        return checks[op]()
    if op == Op.eq:
        return bool(constant == value)
    if op == Op.ne:
        return bool(constant != value)
    raise _invalid(f"{op.value} cannot compare {value!r}")
