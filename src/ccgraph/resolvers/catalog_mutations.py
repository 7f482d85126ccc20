"""Create, update and delete mutations of the named objects, one factory for all kinds."""

from dataclasses import fields
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ccgraph.enums import Permission
from ccgraph.schema import catalog_inputs as ci
from ccgraph.schema import payloads as p
from ccgraph.schema.errors import UserError
from ccgraph.schema.permissions import requires
from ccgraph.schema.routing import PresenceStatus, Queue, WorkStream
from ccgraph.schema.security_profiles import SecurityProfile
from ccgraph.schema.skills import Skill
from ccgraph.schema.teams import Team
from ccgraph.schema.user_inputs import decode
from ccgraph.schema.user_profiles import UserProfile
from ccgraph.services.catalog import writes as cw

ID_FIELDS = {
    "default_presence_id": "PresenceStatus",
    "work_stream_id": "WorkStream",
    "queue_ids": "Queue",
    "work_stream_ids": "WorkStream",
}
NOT_VALUES = {"id", "validate_only", "business_unit_id"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(x.title() for x in rest)


def values_of(data: Any, errors: list) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(data):
        value = getattr(data, f.name)
        if f.name in NOT_VALUES or value is UNSET:
            continue
        if f.name.endswith("_ids"):
            value = [
                decode([_camel(f.name), str(i)], x, ID_FIELDS[f.name], errors)
                for i, x in enumerate(value or [])
            ]
        elif f.name in ID_FIELDS and value is not None:
            value = decode([_camel(f.name)], value, ID_FIELDS[f.name], errors)
        elif f.name == "channel_concurrency":
            value = {c.channel.value: c.value for c in value or []}
        elif f.name == "permissions":
            value = [perm.value for perm in value or []]
        values[f.name] = value
    return values


def mutations(
    kind: cw.Kind,
    node: Any,
    payload: Any,
    field: str,
    create_input: Any,
    update_input: Any,
    permission: Permission,
) -> tuple[Any, Any, Any]:
    type_name = node.__name__

    def shaped(outcome: Any, errors: list) -> Any:
        row = outcome.value if outcome else None
        return payload(
            **{
                field: node.from_row(row) if row is not None else None,
                "user_errors": UserError.many([*errors, *(outcome.errors if outcome else [])]),
            }
        )

    async def create(info: Info, input: create_input) -> payload:  # type: ignore[valid-type]
        errors: list = []
        values = values_of(input, errors)
        unit = (
            decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
            if input.business_unit_id
            else None
        )
        if errors:
            return shaped(None, errors)
        ctx = info.context
        async with ctx.write() as session:
            outcome = await cw.create(
                session, ctx.actor, kind, values, business_unit_id=unit, validate_only=input.validate_only
            )
        return shaped(outcome, [])

    async def update(info: Info, input: update_input) -> payload:  # type: ignore[valid-type]
        errors: list = []
        values = values_of(input, errors)
        pk = decode(["id"], input.id, type_name, errors)
        if errors:
            return shaped(None, errors)
        ctx = info.context
        async with ctx.write() as session:
            outcome = await cw.update(session, ctx.actor, kind, pk, values, validate_only=input.validate_only)
        return shaped(outcome, [])

    async def delete(info: Info, input: ci.DeleteInput) -> p.DeletePayload:
        errors: list = []
        pk = decode(["id"], input.id, type_name, errors)
        if errors:
            return p.DeletePayload(deleted_id=None, user_errors=UserError.many(errors))
        ctx = info.context
        async with ctx.write() as session:
            outcome = await cw.remove(session, ctx.actor, kind, pk, validate_only=input.validate_only)
        return p.DeletePayload(
            deleted_id=relay.GlobalID(type_name, str(outcome.value)) if outcome.value is not None else None,
            user_errors=UserError.many(outcome.errors),
        )

    guard = [requires(permission)]
    return (
        strawberry.mutation(resolver=create, extensions=guard, description=f"Create a {kind.label}."),
        strawberry.mutation(resolver=update, extensions=guard, description=f"Change a {kind.label}."),
        strawberry.mutation(resolver=delete, extensions=guard, description=f"Delete a {kind.label}."),
    )


P = Permission
team_create, team_update, team_delete = mutations(
    cw.TEAM, Team, p.TeamPayload, "team", ci.TeamCreateInput, ci.TeamUpdateInput, P.TEAMS_EDIT
)
queue_create, queue_update, queue_delete = mutations(
    cw.QUEUE, Queue, p.QueuePayload, "queue", ci.QueueCreateInput, ci.QueueUpdateInput, P.QUEUES_EDIT
)
work_stream_create, work_stream_update, work_stream_delete = mutations(
    cw.WORK_STREAM,
    WorkStream,
    p.WorkStreamPayload,
    "work_stream",
    ci.WorkStreamCreateInput,
    ci.WorkStreamUpdateInput,
    P.WORK_STREAMS_EDIT,
)
presence_status_create, presence_status_update, presence_status_delete = mutations(
    cw.PRESENCE_STATUS,
    PresenceStatus,
    p.PresenceStatusPayload,
    "presence_status",
    ci.PresenceStatusCreateInput,
    ci.PresenceStatusUpdateInput,
    P.PRESENCE_STATUSES_EDIT,
)
user_profile_create, user_profile_update, user_profile_delete = mutations(
    cw.USER_PROFILE,
    UserProfile,
    p.UserProfilePayload,
    "user_profile",
    ci.UserProfileCreateInput,
    ci.UserProfileUpdateInput,
    P.USER_PROFILES_EDIT,
)
skill_create, skill_update, skill_delete = mutations(
    cw.SKILL, Skill, p.SkillPayload, "skill", ci.SkillCreateInput, ci.SkillUpdateInput, P.SKILLS_EDIT
)
security_profile_create, security_profile_update, security_profile_delete = mutations(
    cw.SECURITY_PROFILE,
    SecurityProfile,
    p.SecurityProfilePayload,
    "security_profile",
    ci.SecurityProfileCreateInput,
    ci.SecurityProfileUpdateInput,
    P.SECURITY_PROFILES_EDIT,
)
