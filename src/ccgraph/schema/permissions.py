"""`@requiresPermission`: the directive a client reads in the SDL is the check the server runs.

A field declares `extensions=[requires(Permission.X, ...)]`; Strawberry's PermissionExtension
prints the directive on the field and calls `has_permission` before the resolver.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from ccgraph.enums import Permission
from ccgraph.schema.enums import Permission as PermissionEnum  # noqa: F401  (registers the enum)
from ccgraph.schema.errors import forbidden, unauthenticated


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="requiresPermission",
    description="The caller must be signed in and hold every listed permission.",
)
class RequiresPermission:
    permissions: list[Permission]


class HasPermission(BasePermission):
    def __init__(self, *permissions: Permission) -> None:
        self.permissions = permissions

    @property
    def schema_directive(self) -> object:
        return RequiresPermission(permissions=list(self.permissions))

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise unauthenticated()
        missing = principal.missing(self.permissions)
        if missing:
            raise forbidden(missing)
        return True


def requires(*permissions: Permission) -> PermissionExtension:
    return PermissionExtension(permissions=[HasPermission(*permissions)])


class IsAuthenticated(BasePermission):
    """Signed in, nothing more: for fields every user may see about themselves."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.principal is None:
            raise unauthenticated()
        return True


def signed_in() -> PermissionExtension:
    return PermissionExtension(permissions=[IsAuthenticated()], use_directives=False)
