"""What each SCIM operation needs, read from the GraphQL field that does the same thing: the
`@requiresPermission` a client reads in the SDL is the check both faces run, so a permission
changed on a mutation changes SCIM with it."""

from __future__ import annotations

import enum
import functools
from typing import Any

from strawberry.permission import PermissionExtension
from strawberry.types.base import get_object_definition

from ccgraph.enums import Permission
from ccgraph.resolvers import catalog, credentials, users
from ccgraph.schema.permissions import HasPermission


def declared(root: type, field: str) -> tuple[Permission, ...]:
    """The permissions the GraphQL root field `field` (its Python name) of `root` declares."""
    definition = get_object_definition(root, strict=True)
    [found] = [f for f in definition.fields if f.python_name == field]
    return tuple(
        permission
        for extension in found.extensions
        if isinstance(extension, PermissionExtension)
        for check in extension.permissions
        if isinstance(check, HasPermission)
        for permission in check.permissions
    )


class Action(enum.Enum):
    """A SCIM operation, and the GraphQL root field it does the work of."""

    READ_USERS = (users.Query, "users")
    CREATE_USER = (users.Mutation, "user_create")
    UPDATE_USER = (users.Mutation, "user_update")
    ENABLE_USER = (users.Mutation, "user_disable")  # and user_enable: both declare the same
    DELETE_USER = (users.Mutation, "user_delete")
    RESET_PASSWORD = (credentials.Mutation, "user_password_reset")
    READ_TEAMS = (catalog.Query, "teams")
    CREATE_TEAM = (catalog.Mutation, "team_create")
    UPDATE_TEAM = (catalog.Mutation, "team_update")
    DELETE_TEAM = (catalog.Mutation, "team_delete")

    @property
    def permissions(self) -> tuple[Permission, ...]:
        return _permissions(self)


@functools.cache
def _permissions(action: Any) -> tuple[Permission, ...]:
    root, field = action.value
    return declared(root, field)
