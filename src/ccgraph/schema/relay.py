"""Relay connections: `edges { cursor node }`, `pageInfo`, `totalCount`, at most 100 a page."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Hashable
from typing import Annotated, Any, Generic, TypeVar, cast

import strawberry
from strawberry.types import Info

from ccgraph.execution.prefetch import Related
from ccgraph.services.pagination import DEFAULT_PAGE_SIZE, MAX_NUMBERED_ROWS, MAX_PAGE_SIZE, Page, PageArgs

T = TypeVar("T")
EDGES = "The page's items, each with its cursor."
PAGE_INFO = "Where the page is in the list, and the cursors to page on."
Count = Callable[[], int | Awaitable[int]]  # a list's total: now, or an awaitable of it


@strawberry.type(description="Where a page is in its list, and the cursors to page on from it.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether items come before this page.")
    # the cursor of the page's edge at an index (0 the first, -1 the last); None when it is
    # empty. Made when asked for: a nested page's cursors are seldom read, and cost 5 µs each.
    _cursor_at: strawberry.Private[Callable[[int], str | None]]

    @strawberry.field(
        description="The first edge's cursor: give it as `before` for the previous page; "
        "null on an empty page."
    )
    def start_cursor(self) -> str | None:
        return self._cursor_at(0)

    @strawberry.field(
        description="The last edge's cursor: give it as `after` for the next page; null on an empty page."
    )
    def end_cursor(self) -> str | None:
        return self._cursor_at(-1)

    page_number: int | None = strawberry.field(
        default=None,
        description="The page's number (1 is the first) when it was asked for with `page`; "
        "null when the list is paged by cursor.",
    )
    _page_count: strawberry.Private[Count | None] = None

    @strawberry.field(
        description="How many pages of this size the whole list holds (0 when it is empty), "
        "from the same count as `totalCount`; null unless the page was asked for with `page`."
    )
    def page_count(self) -> int | None:
        return None if self._page_count is None else cast(int, self._page_count())  # or an awaitable

    @classmethod
    def of(cls, page: Page, count: Count | None = None) -> PageInfo:
        """`count`: the list's total, for the page count of a numbered page."""
        pages: Count | None = None
        if page.number is not None and count is not None:
            total = count
            pages = lambda: _map(total(), page.page_count)  # noqa: E731
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            _cursor_at=page.edge_cursor,
            page_number=page.number,
            _page_count=pages,
        )


def _map(value: int | Awaitable[int], convert: Callable[[int], int]) -> int | Awaitable[int]:
    return convert(value) if isinstance(value, int) else _then(value, convert)


async def _then(value: Awaitable[int], convert: Callable[[int], int]) -> int:
    return convert(await value)


@strawberry.type(description="One item of a list, with its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    page: strawberry.Private[Page]
    index: strawberry.Private[int]

    @strawberry.field(description="Where the edge is in its list: give it as `after` or `before`.")
    def cursor(self) -> str:
        return self.page.cursor(self.index)


@strawberry.type(
    description="One page of a list: its items (`edges`, or `nodes`), where it is, and the list's size."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    _count: strawberry.Private[Count]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    def total_count(self) -> int:
        return cast(int, self._count())  # or an awaitable of it, which graphql-core awaits

    @strawberry.field(description="The page's nodes, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: Page, convert: Callable[[Any], T], count: Count) -> Connection[T]:
        return cls(
            edges=[Edge(node=convert(r), page=page, index=i) for i, r in enumerate(page.rows)],
            page_info=PageInfo.of(page, count),
            _count=count,
        )


def page_args(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    number: int | None = None,
) -> PageArgs:
    args = PageArgs(first=first, after=after, last=last, before=before, number=number)
    args.size()  # validates now, so that a bad argument fails before any SQL
    return args


PAGE_ARGUMENTS = {
    "first": Annotated[
        int | None,
        strawberry.argument(
            description=f"How many items to return from the start (after `after`): 0 to {MAX_PAGE_SIZE}; "
            f"{DEFAULT_PAGE_SIZE} when neither `first` nor `last` is given. Not with `last`."
        ),
    ],
    "after": Annotated[
        str | None,
        strawberry.argument(description="Return the items after this cursor (a `cursor` or `endCursor`)."),
    ],
    "last": Annotated[
        int | None,
        strawberry.argument(
            description=f"How many items to return from the end (before `before`): 0 to {MAX_PAGE_SIZE}. "
            "Not with `first`."
        ),
    ],
    "before": Annotated[
        str | None,
        strawberry.argument(description="Return the items before this cursor (a `cursor` or `startCursor`)."),
    ],
}
PAGE_NUMBER = "page_number"  # the Python name of a root connection's `page` argument
PAGING = frozenset({*PAGE_ARGUMENTS, PAGE_NUMBER})
NUMBERED_PAGE = Annotated[
    int | None,
    strawberry.argument(
        name="page",
        description=(
            f"Jump to a numbered page (1 is the first) of `first` rows ({DEFAULT_PAGE_SIZE} "
            "when not given), in the same order as the cursors; not with `after`, `before` or "
            "`last`. The page's cursors are ordinary cursors, and `pageInfo` tells `pageNumber` "
            "and `pageCount`. Cost: the database reads every row it skips (OFFSET), so `page` × "
            f"`first` may be at most {MAX_NUMBERED_ROWS:,}; go further with `after` from a "
            "page's `endCursor`, or narrow the list with a filter or search."
        ),
    ),
]


def take_page(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a `paginated` field as its resolver receives them: Relay's four (and
    a root connection's `page`) replaced by one validated `page`."""
    rest = {k: v for k, v in arguments.items() if k not in PAGING}
    given = {name: arguments.get(name) for name in PAGE_ARGUMENTS}
    return rest | {"page": page_args(**given, number=arguments.get(PAGE_NUMBER))}


def paginated(resolver: Callable[..., Any], numbered: bool = False) -> Callable[..., Any]:
    """Give a connection resolver Relay's `first`, `after`, `last` and `before` arguments
    (before its own optional ones), and `page` when `numbered`; it receives them as
    `page: PageArgs`."""
    signature = inspect.signature(resolver)  # annotations resolve in the resolver's module
    own = [p for p in signature.parameters.values() if p.name != "page"]
    at = next((i for i, p in enumerate(own) if p.default is not inspect.Parameter.empty), len(own))
    kinds = PAGE_ARGUMENTS | ({PAGE_NUMBER: NUMBERED_PAGE} if numbered else {})
    paging = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=kind)
        for name, kind in kinds.items()
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

    # `receives` and `resolver`: how the arguments reach `resolver` (for the prefetch, and the
    # planned executor, which keeps them reshaped and calls `resolver` itself)
    wrapper.__dict__.update(__signature__=signature, receives=take_page, resolver=resolver)
    return wrapper


def numbered_pages(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """`paginated`, for a root connection (`resolvers.common.paged`): `page` jumps to a
    numbered page too. Nested connections page by cursor only: an OFFSET per parent would
    read every parent's skipped rows."""
    return paginated(resolver, numbered=True)


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
