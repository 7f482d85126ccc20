"""`users` connections under another object (a team's members, a profile's users...): one
field factory, so every such list pages, counts and batches alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from ccgraph.schema.relay import Connection, nested_connection, page_args

if TYPE_CHECKING:
    from ccgraph.schema.users import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users")]


def users_field(loader: str, description: str) -> Any:
    """A `Connection[User]` field fed by the page loader `loader` and its `<loader>_count`."""

    async def resolve(
        root: Any,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyUser] | None:
        from ccgraph.schema.users import User

        loaders = info.context.loaders
        return await nested_connection(
            Connection,
            getattr(loaders, loader),
            getattr(loaders, f"{loader}_count"),
            root.id,
            page_args(first, after, last, before),
            User.from_row,
        )

    return strawberry.field(resolver=resolve, description=description)
