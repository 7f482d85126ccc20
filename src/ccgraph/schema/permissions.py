"""`@requiresPermission`: the directive a client reads in the SDL is the check the server runs.

A field declares `extensions=[requires(Permission.X, ...)]`; Strawberry's PermissionExtension
prints the directive on the field and calls `has_permission` before the resolver.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from ccgraph.enums import Permission
from ccgraph.schema.enums import Permission as PermissionEnum  # noqa: F401  (registers the enum)
from ccgraph.schema.errors import forbidden, password_change_required, unauthenticated


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="requiresPermission",
    description="The caller must be signed in and hold every listed permission.",
)
class RequiresPermission:
    permissions: list[Permission]
    or_self: bool | None = strawberry.field(
        default=UNSET, description="On a User field: the user themselves needs none of them."
    )


class HasPermission(BasePermission):
    def __init__(self, *permissions: Permission, or_self: bool = False) -> None:
        self.permissions = permissions
        self.or_self = or_self

    @property
    def schema_directive(self) -> object:
        return RequiresPermission(permissions=list(self.permissions), or_self=True if self.or_self else UNSET)

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = signed_in_principal(info)
        if self.or_self and getattr(source, "id", None) == principal.user_id:
            return True
        missing = principal.missing(self.permissions)
        if missing:
            raise forbidden(missing)
        return True


def signed_in_principal(info: Info) -> Any:
    """The caller; a token whose password must be changed first only reaches the viewer."""
    principal = info.context.principal
    if principal is None:
        raise unauthenticated()
    if principal.must_change_password:
        raise password_change_required()
    return principal


def requires(*permissions: Permission, or_self: bool = False) -> PermissionExtension:
    return PermissionExtension(permissions=[HasPermission(*permissions, or_self=or_self)])


class IsAuthenticated(BasePermission):
    """Signed in, nothing more: for what every user may do about themselves (even before
    changing a reset password)."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.principal is None:
            raise unauthenticated()
        return True


def signed_in() -> PermissionExtension:
    return PermissionExtension(permissions=[IsAuthenticated()], use_directives=False)
