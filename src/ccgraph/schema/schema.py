"""Assembles the Schema: the root fields, each with the permission that guards it."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.execution.limits import QueryLimits, limits_rule
from ccgraph.execution.planned import GuardedExecutor, PlannedExecutor
from ccgraph.resolvers import audit as audit_resolvers
from ccgraph.resolvers import auth as auth_resolvers
from ccgraph.resolvers import bulk
from ccgraph.resolvers import business_units as bu
from ccgraph.resolvers import catalog as catalog_resolvers
from ccgraph.resolvers import catalog_mutations as cm
from ccgraph.resolvers import credentials as cr
from ccgraph.resolvers import skill_assignments as sk
from ccgraph.resolvers import user_mutations as um
from ccgraph.resolvers import users as user_resolvers
from ccgraph.schema.auth import LoginPayload, LogoutPayload
from ccgraph.schema.business_units import BusinessUnit
from ccgraph.schema.extensions import ErrorPolicy, RequestLifecycle, coded
from ccgraph.schema.node import NODE_KINDS, resolve_node
from ccgraph.schema.permissions import mark_read_permissions, requires, signed_in
from ccgraph.schema.routing import PresenceStatus, Queue, WorkStream
from ccgraph.schema.security_profiles import SecurityProfile
from ccgraph.schema.teams import Team
from ccgraph.schema.user_profiles import UserProfile
from ccgraph.schema.users import User

P = Permission
catalog = catalog_resolvers.catalog_connection


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when the request carries no valid token.")
    async def viewer(self, info: Info) -> User | None:
        principal = info.context.principal
        if principal is None:
            return None
        row = await info.context.loaders.user.load(principal.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Any object by its global ID.", extensions=[signed_in()])
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await resolve_node(info, "id", id)

    users = strawberry.field(
        resolver=user_resolvers.list_users,
        extensions=[requires(P.USERS_VIEW)],
        description="Users, filtered and ordered; at most 100 a page.",
    )
    user = strawberry.field(resolver=user_resolvers.get_user, extensions=[requires(P.USERS_VIEW)])
    skills = strawberry.field(
        resolver=catalog_resolvers.list_skills,
        extensions=[requires(P.SKILLS_VIEW)],
        description="Skills; `notAssignedToUserId` gives the 'Add Skills' picker.",
    )
    user_profiles = catalog(m.UserProfile, UserProfile, P.USER_PROFILES_VIEW, "User (routing) profiles.")
    queues = catalog(m.Queue, Queue, P.QUEUES_VIEW, "Queues.")
    work_streams = catalog(m.WorkStream, WorkStream, P.WORK_STREAMS_VIEW, "Work streams (channels).")
    presence_statuses = catalog(
        m.PresenceStatus, PresenceStatus, P.PRESENCE_STATUSES_VIEW, "Presence statuses."
    )
    teams = catalog(m.Team, Team, P.TEAMS_VIEW, "Teams.")
    security_profiles = catalog(
        m.SecurityProfile, SecurityProfile, P.SECURITY_PROFILES_VIEW, "Security profiles."
    )
    business_units = catalog(
        m.BusinessUnit,
        BusinessUnit,
        P.BUSINESS_UNITS_VIEW,
        "Business units: the caller's own, or all with EXTERNAL_BUSINESS_UNIT_VIEW.",
    )
    permissions = catalog_resolvers.permissions_field
    users_import_template = strawberry.field(
        resolver=bulk.users_import_template,
        extensions=[requires(P.USERS_CREATE)],
        description="An empty CSV/XLSX with the import columns of the unit (custom fields under its labels).",
    )
    users_export = strawberry.field(
        resolver=bulk.users_export,
        extensions=[requires(P.USERS_VIEW)],
        description="The unit's users in the import columns; the file imports back unchanged.",
    )
    audit_events = strawberry.field(
        resolver=audit_resolvers.audit_events,
        extensions=[requires(P.AUDIT_VIEW)],
        description="The audit trail, newest first.",
    )


@strawberry.type
class Mutation:
    login: LoginPayload = strawberry.mutation(
        resolver=auth_resolvers.login,
        description="Sign in; wrong credentials never say whether the username exists.",
    )
    logout: LogoutPayload = strawberry.mutation(
        resolver=auth_resolvers.logout, extensions=[signed_in()], description="End this session."
    )

    viewer_password_change = strawberry.mutation(
        resolver=cr.viewer_password_change,
        extensions=[signed_in()],
        description="Set a new password (required after a reset); your other sessions end.",
    )
    viewer_mfa_enroll = strawberry.mutation(
        resolver=cr.viewer_mfa_enroll,
        extensions=[signed_in()],
        description="Start TOTP enrollment: returns the secret and its otpauth:// URI once.",
    )
    viewer_mfa_confirm = strawberry.mutation(
        resolver=cr.viewer_mfa_confirm,
        extensions=[signed_in()],
        description="Activate MFA with a current code; from then on login needs `otp`.",
    )
    session_revoke = strawberry.mutation(
        resolver=cr.session_revoke,
        extensions=[signed_in()],
        description="End a session: your own, or anyone's with USERS_EDIT.",
    )
    user_password_reset = strawberry.mutation(
        resolver=cr.user_password_reset,
        extensions=[requires(P.USERS_EDIT)],
        description="Reset a password (typed, or generated and mailed as the security profile says); "
        "every session of the user ends and they must change it at the next sign-in.",
    )
    user_mfa_clear = strawberry.mutation(
        resolver=cr.user_mfa_clear,
        extensions=[requires(P.USERS_EDIT)],
        description="Clear a user's MFA secret so that they enroll again.",
    )
    user_sessions_revoke_all = strawberry.mutation(
        resolver=cr.user_sessions_revoke_all,
        extensions=[requires(P.USERS_EDIT)],
        description="End every session of a user.",
    )
    access_key_create = strawberry.mutation(
        resolver=cr.access_key_create,
        extensions=[requires(P.ACCESS_KEY_CREATE)],
        description="A new access key; its secret is in this payload and never again. At most 2 active.",
    )
    access_key_deactivate = strawberry.mutation(
        resolver=cr.access_key_deactivate, extensions=[requires(P.ACCESS_KEY_CREATE)]
    )
    access_key_delete = strawberry.mutation(
        resolver=cr.access_key_delete, extensions=[requires(P.ACCESS_KEY_CREATE)]
    )
    business_unit_create = strawberry.mutation(
        resolver=bu.create,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Create a business unit.",
    )
    business_unit_update = strawberry.mutation(
        resolver=bu.update,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Rename a business unit.",
    )
    business_unit_settings_update = strawberry.mutation(
        resolver=bu.settings_update,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Turn features on or off; user fields of a feature that is off are refused on write "
        "and read as null (their values are kept).",
    )
    business_unit_custom_fields_update = strawberry.mutation(
        resolver=bu.custom_fields_update,
        extensions=[
            requires(P.EXTERNAL_BUSINESS_UNIT_VIEW, P.BUSINESS_UNIT_CUSTOM_FIELDS_EDIT, P.USERS_EDIT)
        ],
        description="Rename the five custom user fields (NICE 'Edit the Custom User Fields').",
    )
    users_create = strawberry.mutation(
        resolver=bulk.users_create,
        extensions=[requires(P.USERS_CREATE)],
        description="Create up to 1,000 users with one call, each checked as userCreate checks one.",
    )
    users_update = strawberry.mutation(
        resolver=bulk.users_update,
        extensions=[requires(P.USERS_EDIT)],
        description="Update up to 1,000 users with one call, each checked as userUpdate checks one.",
    )
    users_import = strawberry.mutation(
        resolver=bulk.users_import,
        extensions=[requires(P.USERS_CREATE, P.USERS_EDIT)],
        description="Create and/or update users from an uploaded CSV or XLSX (GraphQL multipart request).",
    )
    user_create = strawberry.mutation(
        resolver=um.user_create,
        extensions=[requires(P.USERS_CREATE)],
        description="Create a user; skills in the input need SKILLS_EDIT as well. All or nothing.",
    )
    user_copy = strawberry.mutation(
        resolver=um.user_copy,
        extensions=[requires(P.USERS_CREATE, P.SKILLS_EDIT)],
        description="Create a user like an existing one (NICE 'Copy').",
    )
    user_update = strawberry.mutation(
        resolver=um.user_update,
        extensions=[requires(P.USERS_EDIT)],
        description="Change a user; a stale `version` is a CONFLICT and nothing is applied.",
    )
    user_enable = strawberry.mutation(resolver=um.user_enable, extensions=[requires(P.USERS_EDIT)])
    user_disable = strawberry.mutation(
        resolver=um.user_disable,
        extensions=[requires(P.USERS_EDIT)],
        description="Disable a user: every session and access key of theirs stops working at once.",
    )
    user_delete = strawberry.mutation(
        resolver=um.user_delete,
        extensions=[requires(P.USERS_DELETE)],
        description="Delete a user: they are logged out everywhere; the audit trail keeps the record.",
    )
    user_assign_profile = strawberry.mutation(
        resolver=um.user_assign_profile,
        extensions=[requires(P.USERS_EDIT)],
        description="Give a user a profile, replacing the one they had (a user has at most one).",
    )
    user_profile_create = cm.user_profile_create
    user_profile_update = cm.user_profile_update
    user_profile_delete = cm.user_profile_delete
    queue_create = cm.queue_create
    queue_update = cm.queue_update
    queue_delete = cm.queue_delete
    work_stream_create = cm.work_stream_create
    work_stream_update = cm.work_stream_update
    work_stream_delete = cm.work_stream_delete
    team_create = cm.team_create
    team_update = cm.team_update
    team_delete = cm.team_delete
    presence_status_create = cm.presence_status_create
    presence_status_update = cm.presence_status_update
    presence_status_delete = cm.presence_status_delete
    skill_create = cm.skill_create
    skill_update = cm.skill_update
    skill_delete = cm.skill_delete
    user_skills_add = strawberry.mutation(
        resolver=sk.user_skills_add,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Give a user many skills at once, each with a proficiency.",
    )
    user_skills_set_proficiency = strawberry.mutation(
        resolver=sk.user_skills_set_proficiency,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Change many or all of a user's proficiencies at once.",
    )
    user_skills_remove = strawberry.mutation(
        resolver=sk.user_skills_remove, extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)]
    )
    skill_users_add = strawberry.mutation(
        resolver=sk.skill_users_add,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Give a skill to many users at once, each with a proficiency.",
    )
    skill_users_set_proficiency = strawberry.mutation(
        resolver=sk.skill_users_set_proficiency,
        extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)],
        description="Change many or all users' proficiency in a skill at once.",
    )
    skill_users_remove = strawberry.mutation(
        resolver=sk.skill_users_remove, extensions=[requires(P.USERS_EDIT, P.SKILLS_EDIT)]
    )
    security_profile_create = cm.security_profile_create
    security_profile_update = cm.security_profile_update
    security_profile_delete = cm.security_profile_delete


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """ErrorPolicy logs what is unexpected; errors the client caused are not logged, and
        get their code here (this sees the errors of parsing and validation too)."""
        for error in errors:
            coded(error)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with the limits and controls of `settings`: query limits always; in
    production also no introspection and no field suggestions."""
    settings = settings or Settings()
    rule = limits_rule(settings)
    extensions: list[Any] = [
        ErrorPolicy,
        RequestLifecycle,
        lambda: QueryLimits(settings.max_query_tokens, rule),
        # A document seen before is neither parsed nor validated again.
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    built = Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        execution_context_class=PlannedExecutor if settings.planned_execution else GuardedExecutor,
    )
    mark_read_permissions(built._schema, NODE_KINDS)
    return built


schema = build_schema()
