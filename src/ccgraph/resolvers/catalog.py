"""The named objects of a unit's catalog: their root connections, and create, update and
delete for every kind from one factory; the root fields of this domain."""

from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.resolvers.common import deleted, paged, shaped, write
from ccgraph.schema.business_units import BusinessUnit
from ccgraph.schema.catalog import inputs as ci
from ccgraph.schema.catalog import types as t
from ccgraph.schema.enums import Permission as PermissionEnum
from ccgraph.schema.node import decode, decode_id
from ccgraph.schema.payloads import DeletePayload
from ccgraph.schema.permissions import permission_uses, requires, signed_in
from ccgraph.schema.relay import Connection, numbered_pages
from ccgraph.schema.skills import Skill, SkillPayload
from ccgraph.services.catalog import queries as catalog
from ccgraph.services.catalog import writes as cw
from ccgraph.services.pagination import PageArgs

P = Permission


UnitArgument = Annotated[
    relay.GlobalID | None,
    strawberry.argument(
        description="The business unit whose objects to list; the caller's own when omitted. "
        "Another unit's list is empty without EXTERNAL_BUSINESS_UNIT_VIEW."
    ),
]


def _unit(business_unit_id: relay.GlobalID | None) -> int | None:
    return (
        None if business_unit_id is None else decode_id("businessUnitId", business_unit_id, "BusinessUnit")[1]
    )


def catalog_connection(model: Any, node: Any, permission: Permission, description: str) -> Any:
    @numbered_pages
    async def resolve(
        info: Info, page: PageArgs, search: str | None = None, business_unit_id: UnitArgument = None
    ) -> Connection[node]:
        stmt = catalog.catalog_query(model, info.context.principal, search, _unit(business_unit_id))
        return await paged(info, stmt, catalog.ordering(model), page, node)

    return strawberry.field(resolver=resolve, description=description, extensions=[requires(permission)])


@numbered_pages
async def list_business_units(
    info: Info, page: PageArgs, search: str | None = None
) -> Connection[BusinessUnit]:
    stmt = catalog.business_units_query(info.context.principal, search)
    return await paged(info, stmt, catalog.ordering(m.BusinessUnit), page, BusinessUnit)


@numbered_pages
async def list_skills(
    info: Info,
    page: PageArgs,
    search: str | None = None,
    not_assigned_to_user_id: relay.GlobalID | None = None,
    business_unit_id: UnitArgument = None,
) -> Connection[Skill]:
    user_id = (
        None
        if not_assigned_to_user_id is None
        else decode_id("notAssignedToUserId", not_assigned_to_user_id, "User")[1]
    )
    stmt = catalog.skills_query(info.context.principal, search, user_id, _unit(business_unit_id))
    return await paged(info, stmt, catalog.ordering(m.Skill), page, Skill)


def permission_catalogue(info: Info) -> list[t.PermissionInfo]:
    uses = permission_uses(info)
    return [
        t.PermissionInfo(name=PermissionEnum(p), description=p.description, **uses[p]) for p in Permission
    ]


def mutations(
    kind: cw.Kind,
    node: Any,
    payload: Any,
    field: str,
    create_input: Any,
    update_input: Any,
    permission: Permission,
) -> tuple[Any, Any, Any]:
    """`<kind>Create`, `<kind>Update` and `<kind>Delete` of one kind of named object."""
    type_name = node.__name__
    shape = shaped(node, field, payload)

    async def create(info: Info, input: create_input) -> payload:
        errors: list = []
        values = ci.values_of(input, errors)
        unit = (
            decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
            if input.business_unit_id
            else None
        )
        return await write(
            info,
            errors,
            lambda session, ctx: cw.create(
                session, ctx.actor, kind, values, business_unit_id=unit, validate_only=input.validate_only
            ),
            shape,
        )

    async def update(info: Info, input: update_input) -> payload:
        errors: list = []
        values = ci.values_of(input, errors)
        pk = decode(["id"], input.id, type_name, errors)
        return await write(
            info,
            errors,
            lambda session, ctx: cw.update(
                session, ctx.actor, kind, pk, input.version, values, validate_only=input.validate_only
            ),
            shape,
        )

    async def delete(info: Info, input: ci.DeleteInput) -> DeletePayload:
        errors: list = []
        pk = decode(["id"], input.id, type_name, errors)
        return await write(
            info,
            errors,
            lambda session, ctx: cw.remove(session, ctx.actor, kind, pk, validate_only=input.validate_only),
            deleted(type_name),
        )

    guard: list[FieldExtension] = [requires(permission)]
    return (
        strawberry.mutation(resolver=create, extensions=guard, description=f"Create a {kind.label}."),
        strawberry.mutation(resolver=update, extensions=guard, description=f"Change a {kind.label}."),
        strawberry.mutation(resolver=delete, extensions=guard, description=f"Delete a {kind.label}."),
    )


@strawberry.type
class Query:
    skills = strawberry.field(
        resolver=list_skills,
        extensions=[requires(P.SKILLS_VIEW)],
        description="Skills; `notAssignedToUserId` gives the 'Add Skills' picker.",
    )
    user_profiles = catalog_connection(
        m.UserProfile, t.UserProfile, P.USER_PROFILES_VIEW, "User (routing) profiles."
    )
    queues = catalog_connection(m.Queue, t.Queue, P.QUEUES_VIEW, "Queues.")
    work_streams = catalog_connection(
        m.WorkStream, t.WorkStream, P.WORK_STREAMS_VIEW, "Work streams (channels)."
    )
    presence_statuses = catalog_connection(
        m.PresenceStatus, t.PresenceStatus, P.PRESENCE_STATUSES_VIEW, "Presence statuses."
    )
    teams = catalog_connection(m.Team, t.Team, P.TEAMS_VIEW, "Teams.")
    security_profiles = catalog_connection(
        m.SecurityProfile, t.SecurityProfile, P.SECURITY_PROFILES_VIEW, "Security profiles."
    )
    business_units = strawberry.field(
        resolver=list_business_units,
        extensions=[requires(P.BUSINESS_UNITS_VIEW)],
        description="Business units: the caller's own, or all with EXTERNAL_BUSINESS_UNIT_VIEW.",
    )
    permissions = strawberry.field(
        resolver=permission_catalogue,
        description="Every permission a security profile can grant, with the mutations, fields and "
        "types it guards; with `viewer.permissions` (the caller's own), what a front end needs to "
        "decide what to show.",
        extensions=[signed_in()],
    )


@strawberry.type
class Mutation:
    user_profile_create, user_profile_update, user_profile_delete = mutations(
        cw.USER_PROFILE,
        t.UserProfile,
        t.UserProfilePayload,
        "user_profile",
        ci.UserProfileCreateInput,
        ci.UserProfileUpdateInput,
        P.USER_PROFILES_EDIT,
    )
    queue_create, queue_update, queue_delete = mutations(
        cw.QUEUE, t.Queue, t.QueuePayload, "queue", ci.QueueCreateInput, ci.QueueUpdateInput, P.QUEUES_EDIT
    )
    work_stream_create, work_stream_update, work_stream_delete = mutations(
        cw.WORK_STREAM,
        t.WorkStream,
        t.WorkStreamPayload,
        "work_stream",
        ci.WorkStreamCreateInput,
        ci.WorkStreamUpdateInput,
        P.WORK_STREAMS_EDIT,
    )
    team_create, team_update, team_delete = mutations(
        cw.TEAM, t.Team, t.TeamPayload, "team", ci.TeamCreateInput, ci.TeamUpdateInput, P.TEAMS_EDIT
    )
    presence_status_create, presence_status_update, presence_status_delete = mutations(
        cw.PRESENCE_STATUS,
        t.PresenceStatus,
        t.PresenceStatusPayload,
        "presence_status",
        ci.PresenceStatusCreateInput,
        ci.PresenceStatusUpdateInput,
        P.PRESENCE_STATUSES_EDIT,
    )
    skill_create, skill_update, skill_delete = mutations(
        cw.SKILL, Skill, SkillPayload, "skill", ci.SkillCreateInput, ci.SkillUpdateInput, P.SKILLS_EDIT
    )
    security_profile_create, security_profile_update, security_profile_delete = mutations(
        cw.SECURITY_PROFILE,
        t.SecurityProfile,
        t.SecurityProfilePayload,
        "security_profile",
        ci.SecurityProfileCreateInput,
        ci.SecurityProfileUpdateInput,
        P.SECURITY_PROFILES_EDIT,
    )
