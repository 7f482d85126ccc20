"""Relay connections: `edges { cursor node }`, `pageInfo`, `totalCount`, at most 100 a page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from ccgraph.services.pagination import Page, PageArgs

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursor(0) if page.keys else None,
            end_cursor=page.cursor(-1) if page.keys else None,
        )


@strawberry.type
class Edge(Generic[T]):
    node: T
    page: strawberry.Private[Page]
    index: strawberry.Private[int]

    @strawberry.field(description="Where the edge is in its list: give it as `after` or `before`.")
    def cursor(self) -> str:
        return self.page.cursor(self.index)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self) -> int:
        return await self._count()

    @strawberry.field(description="The page's nodes, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(
        cls, page: Page, convert: Callable[[Any], T], count: Callable[[], Awaitable[int]]
    ) -> Connection[T]:
        return cls(
            edges=[Edge(node=convert(r), page=page, index=i) for i, r in enumerate(page.rows)],
            page_info=PageInfo.of(page),
            _count=count,
        )


def page_args(first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
    args = PageArgs(first=first, after=after, last=last, before=before)
    args.size()  # validates now, so that a bad argument fails before any SQL
    return args


async def nested_connection(
    cls: Any,
    pages: Any,
    counts: Any,
    parent_id: int,
    args: PageArgs,
    convert: Callable[[Any], Any],
    search: str | None = None,
    order: str = "NAME:ASC",
) -> Any:
    """A connection under one parent, through the per-request page and count loaders."""
    page = await pages.load((parent_id, args, search, order))
    return cls.of(page, convert, lambda: counts.load((parent_id, search)))
