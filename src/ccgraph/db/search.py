"""Case-insensitive substring search that behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import InstrumentedAttribute

# A column to read, filter or group by: a Core column or a mapped attribute.
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def contains_ci(term: str, *columns: Column) -> ColumnElement[bool]:
    escaped = term.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))
