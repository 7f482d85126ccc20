"""Declarative base and the column types that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntPk = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps `timestamptz`; this type makes both look alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """`process_result_value` over the dialect's own conversion, with a fast path for what
        the databases give: a page of users and skills reads thousands of timestamps, and
        `replace(tzinfo=...)` is ten times the cost of parsing. SQLite gives the naive UTC
        text this type wrote; asyncpg gives `timestamptz` as aware datetimes in UTC already, so
        there nothing is called per value."""
        impl = self.impl_instance.result_processor(dialect, coltype)
        if impl is None and dialect.driver == "asyncpg":
            return None
        slow = self.process_result_value

        def convert(value: Any) -> datetime | None:
            return slow(impl(value) if impl is not None else value, dialect)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str:
                try:
                    return _parse(value + "+00:00")
                except ValueError:
                    return convert(value)
            if type(value) is datetime and value.tzinfo is UTC:
                return value
            return convert(value)

        return process


_parse = datetime.fromisoformat


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, server_default=func.current_timestamp()
    )


class VersionMixin:
    """Optimistic concurrency: every write bumps `version`; a write made from a stale copy fails
    (SQLAlchemy checks it in the UPDATE's WHERE clause)."""

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def fk(target: str, *, ondelete: str | None = None, nullable: bool = False, index: bool = True) -> Any:
    """A foreign-key column of the primary keys' type, indexed by default."""
    from sqlalchemy import ForeignKey

    return mapped_column(BigIntPk, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)
