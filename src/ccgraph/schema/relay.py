"""Relay connections: `edges { cursor node }`, `pageInfo`, `totalCount`, at most 100 a page."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.types import Info

from ccgraph.execution.prefetch import Related
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
    _count: strawberry.Private[Callable[[], int | Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    def total_count(self) -> int:
        return cast(int, self._count())  # or an awaitable of it, which graphql-core awaits

    @strawberry.field(description="The page's nodes, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(
        cls, page: Page, convert: Callable[[Any], T], count: Callable[[], int | Awaitable[int]]
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


PAGE_ARGUMENTS = {"first": int | None, "after": str | None, "last": int | None, "before": str | None}


def take_page(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a `paginated` field as its resolver receives them: Relay's four
    replaced by one validated `page`."""
    rest = {k: v for k, v in arguments.items() if k not in PAGE_ARGUMENTS}
    return rest | {"page": page_args(*(arguments.get(name) for name in PAGE_ARGUMENTS))}


def paginated(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Give a connection resolver Relay's `first`, `after`, `last` and `before` arguments
    (before its own optional ones); it receives them as `page: PageArgs`."""
    signature = inspect.signature(resolver)  # annotations resolve in the resolver's module
    own = [p for p in signature.parameters.values() if p.name != "page"]
    at = next((i for i, p in enumerate(own) if p.default is not inspect.Parameter.empty), len(own))
    paging = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=kind)
        for name, kind in PAGE_ARGUMENTS.items()
    ]
    signature = signature.replace(parameters=[*own[:at], *paging, *own[at:]])

    if inspect.iscoroutinefunction(resolver):

        @functools.wraps(resolver)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            return await resolver(*args, **take_page(kwargs))

    else:

        @functools.wraps(resolver)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return resolver(*args, **take_page(kwargs))

    wrapper.__dict__.update(__signature__=signature, receives=take_page)  # `receives`: for the prefetch
    return wrapper


def page_key(parent: Any, page: PageArgs, search: str | None = None, order_by: Any = None) -> Hashable:
    """The key of a page of a list under one parent, for the page loaders (`Loaders._paged`):
    built here only, by the resolvers and by the page prefetch alike."""
    return (parent.id, page, search, order_by.key() if order_by is not None else "NAME:ASC")


def count_key(parent: Any, page: PageArgs, search: str | None = None, order_by: Any = None) -> Hashable:
    return (parent.id, search)


def nested_pages(loader: str) -> tuple[Related, Related]:
    """The relations of a connection under a parent: the page loader `loader` and its
    `<loader>_count` (loaded only when `totalCount` is asked)."""
    return Related(loader, page_key), Related(f"{loader}_count", count_key, when="totalCount")


def nested_connection(
    info: Info,
    parent: Any,
    relations: tuple[Related, Related],
    cls: Any,
    convert: Callable[[Any], Any],
    **arguments: Any,
) -> Any:
    """A connection under `parent`, now when the page prefetch loaded it, else as an awaitable."""
    pages, counts = relations
    return pages.get(
        info,
        parent,
        lambda page: cls.of(page, convert, lambda: counts.get(info, parent, lambda n: n, **arguments)),
        **arguments,
    )
