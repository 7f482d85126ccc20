"""The User type: identity, organisation, contact, phone, routing and channel settings, its
relations (each declared with its loader), the effective settings routing uses, and the
payloads of the user mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph.db import models as m
from ccgraph.db.models.users import custom_values
from ccgraph.enums import Permission as PermissionValue
from ccgraph.execution.prefetch import MISSING, Related, cached_all, needs, ready
from ccgraph.schema.access_keys import AccessKey
from ccgraph.schema.business_units import BusinessUnit
from ccgraph.schema.catalog.types import (
    ChannelValue,
    PresenceStatus,
    Queue,
    SecurityProfile,
    Team,
    UserProfile,
    WorkStream,
    channel_values,
)
from ccgraph.schema.credentials import Session
from ccgraph.schema.descriptions import EXTERNAL_ID
from ccgraph.schema.enums import (
    AccessMode,
    DeliveryMode,
    Permission,
    PhoneType,
    ProficiencyOrder,
    SettingSource,
)
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import RESULT, USER_ERRORS, FieldChange, changes_field, payload_description
from ccgraph.schema.permissions import requires
from ccgraph.schema.relay import nested_connection, nested_pages, paginated
from ccgraph.schema.skills import ProficiencyConnection, Skill
from ccgraph.schema.users.connections import users_field
from ccgraph.schema.users.inputs import PROFICIENCY
from ccgraph.services.pagination import PageArgs
from ccgraph.services.users.effective_settings import override, routable_skills, union
from ccgraph.services.users.fields import applies

# The relations of a user, each read through its loader (see execution/prefetch.py).
UNIT = Related("business_unit", lambda user: user.business_unit_id)
TEAM = Related("team", lambda user: user.team_id)
MANAGER = Related("user", lambda user: user.manager_id)
PROFILE = Related("user_profile", lambda user: user.user_profile_id)
PRESENCE = Related("presence_status", lambda user: user.default_presence_id)
QUEUES = Related("user_queues", lambda user: user.id, many=True)
WORK_STREAMS = Related("user_work_streams", lambda user: user.id, many=True)
SECURITY_PROFILES = Related("user_security_profiles", lambda user: user.id, many=True)
ACCESS_KEYS = Related("user_access_keys", lambda user: user.id, many=True)
SESSIONS = Related("user_sessions", lambda user: user.id, many=True)
SKILLS = nested_pages("user_skills")
# What effective settings are computed from, in the order `_effective` takes them; and the
# unpaged skill list, when their `skills` are asked.
EFFECTIVE = (
    PROFILE,
    PRESENCE,
    Related("presence_status", lambda profile: profile.default_presence_id, via=PROFILE),
    QUEUES,
    Related("profile_queues", lambda profile: profile.id, many=True, via=PROFILE),
    WORK_STREAMS,
    Related("profile_work_streams", lambda profile: profile.id, many=True, via=PROFILE),
)
WITH_OSH_NULL = "null when the unit uses omnichannel session handling."
SKILL_LIST = Related("user_skill_list", lambda user: user.id, many=True, when="skills")


@strawberry.type(description="Where the user sits in the organisation.")
class UserOrganization:
    job_title: str | None = strawberry.field(description="The user's job title.")
    department: str | None = strawberry.field(description="The department the user works in.")
    employee_id: str | None = strawberry.field(description="The user's employee number in your HR system.")


@strawberry.type(description="The user's personal phone numbers.")
class ContactDetails:
    main_phone: str | None = strawberry.field(description="The number to reach the user on first.")
    mobile_phone: str | None = strawberry.field(description="The user's mobile number.")
    home_phone: str | None = strawberry.field(description="The user's home number.")


@strawberry.type(description="The user's postal address.")
class Address:
    street1: str | None = strawberry.field(description="Street and number.")
    street2: str | None = strawberry.field(description="More of the street address: flat, building.")
    city: str | None = strawberry.field(description="Town or city.")
    state: str | None = strawberry.field(description="State, county or region.")
    postal_code: str | None = strawberry.field(description="Postal or ZIP code.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")


@strawberry.type(description="The phone the agent answers on.")
class PhoneSettings:
    type: PhoneType = strawberry.field(description="A softphone in the browser, or a desk phone.")
    desk_phone_number: str | None = strawberry.field(description="The desk phone's number, for a desk phone.")
    auto_accept: bool = strawberry.field(description="Whether calls are answered without a click.")


@strawberry.type(description="Channel settings (refusal timeouts, dialing, chats and emails).")
class ChannelSettings:
    refusal_timeouts: list[ChannelValue] = strawberry.field(description="Seconds, per channel.")
    dialing_pattern: str | None = strawberry.field(
        description="The pattern outgoing numbers are dialled with."
    )
    agent_voice_threshold: int | None = strawberry.field(
        description="The voice level at which the agent counts as speaking."
    )
    suppress_ringing: bool = strawberry.field(description="Suppress ringing on personal connection.")
    concurrent_chats: int | None = strawberry.field(
        description=f"Chats the user handles at the same time; {WITH_OSH_NULL}"
    )
    auto_parked_emails: int | None = strawberry.field(
        description=f"E-mails parked for the user automatically; {WITH_OSH_NULL}"
    )
    request_contact: bool | None = strawberry.field(
        description="Whether the user asks for the next contact instead of being offered it; " + WITH_OSH_NULL
    )


@strawberry.type(description="Omnichannel session handling, when the business unit enables it.")
class OmnichannelSettings:
    max_contacts: list[ChannelValue] = strawberry.field(
        description="Maximum simultaneous contacts per channel."
    )
    delivery_mode: DeliveryMode | None = strawberry.field(
        description="How contacts are delivered to the user; null unless the unit enables granularOsh."
    )
    total_contact_count: int | None = strawberry.field(
        description="Maximum simultaneous contacts over all channels; null unless the unit enables "
        "granularOsh."
    )


@strawberry.type(description="The user's account in the WFO recording system.")
class WfoRecording:
    system_domain: str | None = strawberry.field(description="The recording system's domain.")
    system_username: str | None = strawberry.field(description="The user's name in the recording system.")
    phones: list[str] = strawberry.field(description="The phone numbers recorded for the user.")


@strawberry.type(description="How the user hears of WFM schedule changes.")
class WfmNotifications:
    email: bool = strawberry.field(description="By e-mail.")
    sms: bool = strawberry.field(description="By text message.")
    in_app: bool = strawberry.field(description="In the application.")


@strawberry.type(description="A custom user field with its business unit's current label.")
class CustomField:
    slot: int = strawberry.field(description="Which custom field, from 1.")
    label: str = strawberry.field(description="The field's label in the business unit.")
    value: str | None = strawberry.field(description="The user's value; null when empty.")


@strawberry.type(description="The capacity routing uses for the user.")
class EffectiveCapacity:
    value: int | None = strawberry.field(
        description="How much work the user takes at once; null when neither the user nor the profile "
        "sets it."
    )
    source: SettingSource | None = strawberry.field(
        description="Where the value comes from: the user, or the user profile."
    )


@strawberry.type(description="The presence the user starts in, as routing uses it.")
class EffectivePresence:
    value: PresenceStatus | None = strawberry.field(
        description="The presence; null when neither the user nor the profile sets one."
    )
    source: SettingSource | None = strawberry.field(
        description="Where the value comes from: the user, or the user profile."
    )


@strawberry.type(description="A queue routing offers the user work from.")
class EffectiveQueue:
    value: Queue = strawberry.field(description="The queue.")
    source: SettingSource = strawberry.field(
        description="Where the value comes from: the user, or the user profile."
    )


@strawberry.type(description="A work stream routing offers the user work from.")
class EffectiveWorkStream:
    value: WorkStream = strawberry.field(description="The work stream.")
    source: SettingSource = strawberry.field(
        description="Where the value comes from: the user, or the user profile."
    )


@strawberry.type(description="An active skill routing uses, with the user's proficiency.")
class EffectiveSkill:
    value: Skill = strawberry.field(description="The skill.")
    proficiency: int = strawberry.field(description=PROFICIENCY)
    source: SettingSource = strawberry.field(
        description="Where the value comes from: the user, or the user profile."
    )


@strawberry.type(
    description="What routing uses: the user's capacity and default presence override the "
    "profile's; queues and work streams are the union of both. Each value says its source."
)
class EffectiveSettings:
    capacity: EffectiveCapacity = strawberry.field(description="The user's capacity, else the profile's.")
    default_presence: EffectivePresence = strawberry.field(
        description="The user's default presence, else the profile's."
    )
    queues: list[EffectiveQueue] | None = strawberry.field(description="The user's queues and the profile's.")
    work_streams: list[EffectiveWorkStream] | None = strawberry.field(
        description="The user's work streams and the profile's."
    )
    row: strawberry.Private[m.User]

    @strawberry.field(
        description="The user's active skills, most proficient first (skills are the user's own)."
    )
    def skills(self, info: Info) -> list[EffectiveSkill] | None:
        return SKILL_LIST.get(
            info,
            self.row,
            lambda pairs: [
                EffectiveSkill(value=Skill.from_row(s.value[0]), proficiency=s.value[1], source=s.source)
                for s in routable_skills(pairs)
            ],
        )


# The columns of a user that only these fields show, and those no field reads: the
# credentials, which only the sign-in and password services read, from a mapped user
# (execution.columns). What a rule reads (ids, enabled, capacity...) is not listed.
SHOWN = {
    "firstName": ("first_name",),
    "lastName": ("last_name",),
    "fullName": ("first_name", "last_name"),
    "email": ("email",),
    "externalId": ("external_id",),
    "timezone": ("timezone",),
    "country": ("country",),
    "city": ("city",),
    "accessMode": ("access_mode",),
    "mailbox": ("mailbox",),
    "mfaEnabled": ("mfa_enabled",),
    "mustChangePassword": ("must_change_password",),
    "version": ("version",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "organization": ("job_title", "department", "employee_id"),
    "contact": ("main_phone", "mobile_phone", "home_phone"),
    "address": (
        "address_street1",
        "address_street2",
        "address_city",
        "address_state",
        "address_postal_code",
        "address_country",
    ),
    "phone": ("phone_type", "desk_phone_number", "auto_accept_calls"),
    "channelSettings": (
        "refusal_timeouts",
        "dialing_pattern",
        "agent_voice_threshold",
        "suppress_ringing",
        "concurrent_chats",
        "auto_parked_emails",
        "request_contact",
    ),
    "omnichannel": ("osh_max_contacts", "osh_delivery_mode", "osh_total_contact_count"),
    "wfoRecording": ("wfo_system_domain", "wfo_system_username", "wfo_phones"),
    "wfmNotifications": ("wfm_notify_email", "wfm_notify_sms", "wfm_notify_in_app"),
    "maxReleasePreview": ("max_release_preview",),
    "crmUsername": ("crm_username",),
    "customFields": tuple(f"custom_{slot}" for slot in range(1, 6)),
}
UNREAD = ("password_hash", "password_changed_at", "mfa_secret_encrypted", "mfa_last_step")


@node_type(m.User, "user", shows=SHOWN, unread=UNREAD)
@strawberry.type(description="An agent, supervisor or administrator.")
class User(relay.Node):
    id: relay.NodeID[int]
    username: str = strawberry.field(description="The name the user signs in with.")
    first_name: str = strawberry.field(description="The user's first name.")
    last_name: str = strawberry.field(description="The user's last name.")
    email: str = strawberry.field(description="The user's e-mail address.")
    external_id: str | None = strawberry.field(description=EXTERNAL_ID.format(what="user"))
    enabled: bool = strawberry.field(
        description="Whether the user can sign in; a disabled user keeps their settings."
    )
    is_master_administrator: bool = strawberry.field(
        description="Whether the user is a master administrator, who may do anything."
    )
    timezone: str = strawberry.field(description="IANA time zone the user works in.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    city: str | None = strawberry.field(description="The city the user works in.")
    capacity: int | None = strawberry.field(
        description="The user's own capacity; null when it is inherited from the user profile."
    )
    access_mode: AccessMode = strawberry.field(description="The user's client access licence mode.")
    mailbox: str | None = strawberry.field(description="The mailbox the user handles e-mails from.")
    mfa_enabled: bool = strawberry.field(
        description="Whether signing in asks for a one-time code from an authenticator app."
    )
    must_change_password: bool = strawberry.field(description="Set after a reset: sign-in leads to a change.")
    version: int = strawberry.field(description="Send it back with an update; a stale one conflicts.")
    created_at: datetime = strawberry.field(description="When the user was created.")
    updated_at: datetime = strawberry.field(description="When the user was last changed.")
    row: strawberry.Private[m.User]

    @classmethod
    def from_row(cls, row: m.User) -> User:
        return cls(
            id=row.id,
            username=row.username,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            external_id=row.external_id,
            enabled=row.enabled,
            is_master_administrator=row.is_master_admin,
            timezone=row.timezone,
            country=row.country,
            city=row.city,
            capacity=row.capacity,
            access_mode=row.access_mode,
            mailbox=row.mailbox,
            mfa_enabled=row.mfa_enabled,
            must_change_password=row.must_change_password,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(
        description="Access keys (id, created, last used, active); never their secrets.",
        extensions=[requires(PermissionValue.ACCESS_KEY_CREATE)],
        metadata=needs(ACCESS_KEYS),
    )
    async def access_keys(self, info: Info) -> list[AccessKey]:
        return await ACCESS_KEYS.value(info, self.row, lambda rows: [AccessKey.from_row(r) for r in rows])

    @strawberry.field(
        description="Active sessions: the user's own, or anyone's with USERS_EDIT.",
        extensions=[requires(PermissionValue.USERS_EDIT, or_self=True)],
        metadata=needs(SESSIONS),
    )
    async def sessions(self, info: Info) -> list[Session]:
        current = info.context.principal.session_id
        return await SESSIONS.value(info, self.row, lambda rows: [Session.from_row(r, current) for r in rows])

    @strawberry.field(description="First and last name.")
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field(description="Job title, department and employee ID.")
    def organization(self) -> UserOrganization:
        r = self.row
        return UserOrganization(job_title=r.job_title, department=r.department, employee_id=r.employee_id)

    @strawberry.field(description="Personal phone numbers.")
    def contact(self) -> ContactDetails:
        r = self.row
        return ContactDetails(main_phone=r.main_phone, mobile_phone=r.mobile_phone, home_phone=r.home_phone)

    @strawberry.field(description="Postal address.")
    def address(self) -> Address:
        r = self.row
        return Address(
            street1=r.address_street1,
            street2=r.address_street2,
            city=r.address_city,
            state=r.address_state,
            postal_code=r.address_postal_code,
            country=r.address_country,
        )

    @strawberry.field(description="The phone the user answers on.")
    def phone(self) -> PhoneSettings:
        r = self.row
        return PhoneSettings(
            type=r.phone_type, desk_phone_number=r.desk_phone_number, auto_accept=r.auto_accept_calls
        )

    @strawberry.field(
        description="The single-channel fields read null when the unit uses OSH.", metadata=needs(UNIT)
    )
    def channel_settings(self, info: Info) -> ChannelSettings:
        r = self.row

        def build(unit: Any) -> ChannelSettings:
            def only(column: str) -> Any:
                return getattr(r, column) if applies(unit, column) else None

            return ChannelSettings(
                refusal_timeouts=channel_values(r.refusal_timeouts),
                dialing_pattern=r.dialing_pattern,
                agent_voice_threshold=r.agent_voice_threshold,
                suppress_ringing=r.suppress_ringing,
                concurrent_chats=only("concurrent_chats"),
                auto_parked_emails=only("auto_parked_emails"),
                request_contact=only("request_contact"),
            )

        return UNIT.get(info, r, build)

    @strawberry.field(
        description="Null unless the unit enables omnichannel session handling.", metadata=needs(UNIT)
    )
    def omnichannel(self, info: Info) -> OmnichannelSettings | None:
        r = self.row

        def build(unit: Any) -> OmnichannelSettings | None:
            if not applies(unit, "osh_max_contacts"):
                return None
            granular = applies(unit, "osh_delivery_mode")
            return OmnichannelSettings(
                max_contacts=channel_values(r.osh_max_contacts),
                delivery_mode=r.osh_delivery_mode if granular else None,
                total_contact_count=r.osh_total_contact_count if granular else None,
            )

        return UNIT.get(info, r, build)

    @strawberry.field(description="Null unless the unit enables WFO.", metadata=needs(UNIT))
    def wfo_recording(self, info: Info) -> WfoRecording | None:
        r = self.row
        return UNIT.get(
            info,
            r,
            lambda unit: (
                WfoRecording(
                    system_domain=r.wfo_system_domain,
                    system_username=r.wfo_system_username,
                    phones=list(r.wfo_phones or []),
                )
                if applies(unit, "wfo_system_domain")
                else None
            ),
        )

    @strawberry.field(description="Null unless the unit enables WFM.", metadata=needs(UNIT))
    def wfm_notifications(self, info: Info) -> WfmNotifications | None:
        r = self.row
        return UNIT.get(
            info,
            r,
            lambda unit: (
                WfmNotifications(email=r.wfm_notify_email, sms=r.wfm_notify_sms, in_app=r.wfm_notify_in_app)
                if applies(unit, "wfm_notify_email")
                else None
            ),
        )

    @strawberry.field(description="Null unless the unit allows MAX release preview.", metadata=needs(UNIT))
    def max_release_preview(self, info: Info) -> bool | None:
        r = self.row
        return UNIT.get(
            info, r, lambda unit: r.max_release_preview if applies(unit, "max_release_preview") else None
        )

    @strawberry.field(description="Null unless the unit integrates a CRM.", metadata=needs(UNIT))
    def crm_username(self, info: Info) -> str | None:
        r = self.row
        return UNIT.get(info, r, lambda unit: r.crm_username if applies(unit, "crm_username") else None)

    @strawberry.field(
        description="The five custom fields under their business unit's labels.", metadata=needs(UNIT)
    )
    def custom_fields(self, info: Info) -> list[CustomField]:
        values = custom_values(self.row)
        return UNIT.get(
            info,
            self.row,
            lambda unit: [
                CustomField(slot=slot, label=label, value=value)
                for slot, (label, value) in enumerate(zip(unit.custom_field_labels(), values, strict=True), 1)
            ],
        )

    @strawberry.field(description="The business unit the user belongs to.", metadata=needs(UNIT))
    def business_unit(self, info: Info) -> BusinessUnit | None:
        return UNIT.get(info, self.row, BusinessUnit.from_row)

    @strawberry.field(description="The team the user belongs to.", metadata=needs(TEAM))
    def team(self, info: Info) -> Team | None:
        return TEAM.get(info, self.row, Team.from_row)

    @strawberry.field(description="The user's manager.", metadata=needs(MANAGER))
    def manager(self, info: Info) -> User | None:
        return MANAGER.get(info, self.row, User.from_row)

    direct_reports = users_field("direct_reports", "Users whose manager this user is.")

    @strawberry.field(
        description="The security profiles granting the user's permissions.",
        metadata=needs(SECURITY_PROFILES),
    )
    def security_profiles(self, info: Info) -> list[SecurityProfile] | None:
        return SECURITY_PROFILES.get(info, self.row, lambda rows: [SecurityProfile.from_row(r) for r in rows])

    @strawberry.field(
        description="Effective permissions: the union of the security profiles'.",
        metadata=needs(SECURITY_PROFILES),
    )
    def permissions(self, info: Info) -> list[Permission]:
        def union(rows: list[Any]) -> list[Permission]:
            granted = {p for r in rows for p in r.permissions}
            return [p for p in PermissionValue if p.value in granted]

        return SECURITY_PROFILES.get(info, self.row, union)

    @strawberry.field(
        description="The profile the user inherits settings from (at most one).", metadata=needs(PROFILE)
    )
    def user_profile(self, info: Info) -> UserProfile | None:
        return PROFILE.get(info, self.row, UserProfile.from_row)

    @strawberry.field(
        description="The user's own default presence; null when inherited.", metadata=needs(PRESENCE)
    )
    def default_presence(self, info: Info) -> PresenceStatus | None:
        return PRESENCE.get(info, self.row, PresenceStatus.from_row)

    @strawberry.field(description="The user's own queues, besides the profile's.", metadata=needs(QUEUES))
    def queues(self, info: Info) -> list[Queue] | None:
        return QUEUES.get(info, self.row, lambda rows: [Queue.from_row(r) for r in rows])

    @strawberry.field(
        description="The user's own work streams, besides the profile's.", metadata=needs(WORK_STREAMS)
    )
    def work_streams(self, info: Info) -> list[WorkStream] | None:
        return WORK_STREAMS.get(info, self.row, lambda rows: [WorkStream.from_row(r) for r in rows])

    @strawberry.field(description="The user's skills, with proficiency on the edge.", metadata=needs(*SKILLS))
    @paginated
    def skills(
        self,
        info: Info,
        page: PageArgs,
        search: Annotated[
            str | None,
            strawberry.argument(description="Only skills whose name or description contains this text."),
        ] = None,
        order_by: Annotated[
            ProficiencyOrder | None,
            strawberry.argument(description="The order of the skills; by name when left out."),
        ] = None,
    ) -> ProficiencyConnection[Skill] | None:
        return nested_connection(
            info,
            self.row,
            SKILLS,
            ProficiencyConnection,
            Skill.from_row,
            page=page,
            search=search,
            order_by=order_by,
        )

    @strawberry.field(
        description="The capacity, presence, queues, work streams and skills routing uses, "
        "combining the user's own with the profile's.",
        metadata=needs(*EFFECTIVE, SKILL_LIST),
    )
    def effective_settings(self, info: Info) -> EffectiveSettings:
        """Computed now when the page's prefetch brought every input, else after loading them."""
        found = cached_all(info, self.row, EFFECTIVE)
        if any(value is MISSING for value in found):  # an awaitable, which graphql-core awaits
            return cast(EffectiveSettings, self._effective_settings_loaded(info))
        return _effective(self.row, *found)

    async def _effective_settings_loaded(self, info: Info) -> EffectiveSettings:
        return _effective(self.row, *await ready(info, self.row, EFFECTIVE))


def _effective(
    row: Any,
    profile: Any,
    user_presence: Any,
    profile_presence: Any,
    user_queues: Any,
    profile_queues: Any,
    user_streams: Any,
    profile_streams: Any,
) -> EffectiveSettings:
    """The service's rules (override, union), each result built as the API's type directly."""
    return EffectiveSettings(
        capacity=override(row.capacity, profile.capacity if profile else None, _capacity),
        default_presence=override(user_presence, profile_presence, _presence),
        queues=union(user_queues, profile_queues, _queue),
        work_streams=union(user_streams, profile_streams, _work_stream),
        row=row,
    )


def _capacity(value: int | None, source: Any) -> EffectiveCapacity:
    return EffectiveCapacity(value=value, source=source)


def _presence(row: Any, source: Any) -> EffectivePresence:
    return EffectivePresence(value=PresenceStatus.from_row(row) if row else None, source=source)


def _queue(row: Any, source: Any) -> EffectiveQueue:
    return EffectiveQueue(value=Queue.from_row(row), source=source)


def _work_stream(row: Any, source: Any) -> EffectiveWorkStream:
    return EffectiveWorkStream(value=WorkStream.from_row(row), source=source)


@strawberry.type(description=payload_description("user"))
class UserPayload:
    user: User | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()


@strawberry.type(description="The result of deleting a user.")
class UserDeletePayload:
    deleted_user_id: relay.GlobalID | None = strawberry.field(
        description="The deleted user's ID; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
