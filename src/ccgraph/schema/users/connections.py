"""`users` connections under another object (a team's members, a profile's users...): one
field factory, so every such list pages, counts and batches alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from ccgraph.execution.prefetch import needs
from ccgraph.schema.relay import Connection, nested_connection, nested_pages, paginated
from ccgraph.services.pagination import PageArgs

if TYPE_CHECKING:
    from ccgraph.schema.users.types import User

LazyUser = Annotated["User", strawberry.lazy("ccgraph.schema.users.types")]


def users_field(loader: str, description: str) -> Any:
    """A `Connection[User]` field fed by the page loader `loader` and its `<loader>_count`."""
    relations = nested_pages(loader)

    @paginated
    def resolve(root: Any, info: Info, page: PageArgs) -> Connection[LazyUser] | None:
        from ccgraph.schema.users.types import User

        return nested_connection(info, root, relations, Connection, User.from_row, page=page)

    return strawberry.field(resolver=resolve, description=description, metadata=needs(*relations))
