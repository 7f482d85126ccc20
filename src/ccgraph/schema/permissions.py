"""`@requiresPermission`: the directive a client reads in the SDL is the check the server runs.

A field declares `extensions=[requires(Permission.X, ...)]`; Strawberry's PermissionExtension
prints the directive on the field and calls `has_permission` before the resolver. A type
declares it through `node.node_type` (from `authority.READ`); the executor checks it wherever
an object of the type is completed (`read_guard`), whatever field led there. The same directive
ends the description of what it guards ("Requires: USERS_VIEW.", `document_permissions`), for
introspection (which cannot carry schema directives), and feeds the `permissions` catalog.
"""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type, is_object_type
from strawberry import UNSET
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from ccgraph.enums import Permission
from ccgraph.execution.planned import DEFINITION, READ_GUARD, Guard
from ccgraph.schema.enums import Permission as PermissionEnum  # noqa: F401  (registers the enum)
from ccgraph.schema.errors import forbidden, password_change_required, unauthenticated
from ccgraph.services import authority


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    name="requiresPermission",
    description="The caller must be signed in and hold every listed permission. On a type: to "
    "read an object of the type by any field that leads to it (and its connections and edges).",
)
class RequiresPermission:
    permissions: list[Permission]
    or_self: bool | None = strawberry.field(
        default=UNSET, description="On User: the user themselves needs none of them."
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


# -- documenting: what introspection shows of the directive ------------------------------------

USES = "ccgraph-permission-uses"  # GraphQL schema extension: Permission -> {"mutations": [...], ...}


def requires_sentence(directive: RequiresPermission) -> str:
    """How a description ends on what `directive` guards."""
    unless = " (the user themselves needs none)" if directive.or_self is True else ""
    return f"Requires: {', '.join(str(p) for p in directive.permissions)}{unless}."


def declared(element: Any) -> RequiresPermission | None:
    """The `@requiresPermission` a GraphQL object type or field prints, if any."""
    definition = element.extensions.get(DEFINITION)
    directives = getattr(definition, "directives", None) or ()
    return next((d for d in directives if isinstance(d, RequiresPermission)), None)


def document_permissions(schema: GraphQLSchema) -> None:
    """End the description of every object type and field that prints `@requiresPermission`
    with the permissions it needs, and record, per permission, the mutations, other fields
    (`Type.field`) and types it guards (`permission_uses`)."""
    uses: dict[Permission, dict[str, list[str]]] = {
        p: {"mutations": [], "fields": [], "types": []} for p in Permission
    }
    mutation = schema.mutation_type.name if schema.mutation_type else None
    for type_ in schema.type_map.values():
        if not is_object_type(type_) or type_.name.startswith("__"):
            continue
        in_mutation = type_.name == mutation
        guarded = [("types", type_.name, type_)]
        guarded += [
            ("mutations", name, field) if in_mutation else ("fields", f"{type_.name}.{name}", field)
            for name, field in type_.fields.items()
        ]
        for kind, name, element in guarded:
            directive = declared(element)
            if directive is None:
                continue
            sentence = requires_sentence(directive)
            text = element.description or ""
            if not text.endswith(sentence):
                element.description = f"{text.rstrip()} {sentence}".lstrip()
            for permission in directive.permissions:
                uses[Permission(permission)][kind].append(name)
    schema.extensions = {**schema.extensions, USES: uses}


def permission_uses(info: Info) -> dict[Permission, dict[str, list[str]]]:
    """What each permission guards in this schema: {"mutations", "fields", "types"} -> names."""
    return info.schema._schema.extensions[USES]


# -- reading: authorization follows the object, not the path ----------------------------------

READ = "ccgraph-read-permission"  # GraphQL type extension: (permission, self_readable)


def mark_read_permissions(schema: GraphQLSchema, kinds: dict[str, Any]) -> None:
    """Give every object type that a permission guards, its connections and its edges, the
    `(permission, self_readable)` its `@requiresPermission` declares (`kinds`: type name ->
    NodeKind). The executor checks it wherever an object of the type is completed."""
    types = schema.type_map

    def node_of(type_: Any, field: str) -> Any:
        found = getattr(type_, "fields", {}).get(field)
        return get_named_type(found.type) if found is not None else None

    for name, kind in kinds.items():
        types[name].extensions = {**types[name].extensions, READ: (kind.permission, kind.self_readable)}
    for type_ in list(types.values()):
        if not is_object_type(type_) or READ in type_.extensions:
            continue
        edge = node_of(type_, "edges")
        node = node_of(edge, "node") if edge is not None else node_of(type_, "node")
        if node is not None and READ in node.extensions:
            permission, _ = node.extensions[READ]
            type_.extensions = {**type_.extensions, READ: (permission, False)}
    for type_ in types.values():
        if is_object_type(type_) and READ in type_.extensions:
            type_.extensions = {**type_.extensions, READ_GUARD: functools.partial(read_guard, type_)}


def read_guard(type_: GraphQLObjectType, context: Any) -> Guard | None:
    """The check an object of `type_` must pass for this request's caller, or None when every
    object of the type may be read (decided once per type and request)."""
    marked = type_.extensions.get(READ)
    if marked is None:
        return None
    permission, self_readable = marked
    if authority.readable(context.principal, permission):
        return None
    viewer_id = context.viewer_id
    principal = context.principal
    must_change = principal is not None and principal.must_change_password

    def guard(value: Any) -> None:
        if not (self_readable and viewer_id is not None and getattr(value, "id", None) == viewer_id):
            raise password_change_required() if must_change else forbidden([permission])

    return guard
