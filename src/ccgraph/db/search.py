"""Case-insensitive substring search that behaves the same on SQLite and PostgreSQL.

The rule is one: `lower(column) LIKE '%term%'` (the term's own `%`, `_` and `\\` matched as
themselves) over the columns searched. For users, whom a unit counts by the hundred thousand,
an index finds the candidates first (made by migration 0009, outside the models):

- PostgreSQL: a GIN index of the four `lower(column)`s with pg_trgm's `gin_trgm_ops` serves
  the rule's `LIKE` as it is written.
- SQLite: the FTS5 table `users_fts` (trigram tokenizer, kept by triggers) is asked for the
  rows holding the term, `users.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH
  '"term"')`, and the rule then keeps exactly today's matches among them (trigrams fold case
  beyond ASCII, SQLite's `lower()` does not). A term shorter than a trigram (1 or 2 characters)
  has no trigram to look up: the rule alone scans, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, column, func, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from ccgraph.db.models.users import User

# A column to read, filter or group by: a Core column or a mapped attribute.
Column = ColumnElement[Any] | InstrumentedAttribute[Any]

USERS_FTS = "users_fts"  # SQLite; FTS5 keeps its own data in tables named users_fts_*
TRIGRAM_INDEX = "ix_users_search_trigrams"  # PostgreSQL
TRIGRAM = 3  # characters: a shorter term has no trigram to look up

_fts = table(USERS_FTS, column("rowid"), column(USERS_FTS))


def contains_ci(term: str, *columns: Column) -> ColumnElement[bool]:
    escaped = term.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))


def users_contain(term: str) -> ColumnElement[bool]:
    """Users with `term` in their username, first name, last name or e-mail address."""
    rule = contains_ci(term, User.username, User.first_name, User.last_name, User.email)
    needle = term.strip().lower()
    if len(needle) < TRIGRAM:
        return rule
    phrase = '"' + needle.replace('"', '""') + '"'  # an FTS5 string: the term as it is
    candidates = select(_fts.c.rowid).where(_fts.c[USERS_FTS].op("MATCH")(phrase))
    return _Narrowed(User.id.in_(candidates), rule)


class _Narrowed(ColumnElement[bool]):
    """`rule`, narrowed first to `candidates` where the database has the index they read
    (SQLite); elsewhere `rule` alone. Cached like any clause: its parts make its cache key."""

    __visit_name__ = "ccgraph_narrowed"
    _traverse_internals = [
        ("candidates", InternalTraversal.dp_clauseelement),
        ("rule", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is, never `(...) = 1`

    def __init__(self, candidates: ColumnElement[bool], rule: ColumnElement[bool]) -> None:
        self.candidates = candidates
        self.rule = rule


@compiles(_Narrowed)
def _rule_alone(element: _Narrowed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.rule.self_group(), **kw))


@compiles(_Narrowed, "sqlite")
def _narrowed_by_fts(element: _Narrowed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(and_(element.candidates, element.rule).self_group(), **kw))


def compared_with_models(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's `include_name`: the search's index is the migrations' alone (the models
    cannot declare an FTS5 table or an operator-class index), so comparing the database with
    the models leaves it out."""
    if type_ == "table":
        return not (name or "").startswith(USERS_FTS)
    return not (type_ == "index" and name == TRIGRAM_INDEX)
