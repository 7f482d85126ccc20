"""Inputs of the user queries and mutations, grouped as `User` is read, and their translation into
what the services take (see services/users/fields.py)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import UNSET, relay

from ccgraph.schema.enums import AccessMode, Channel, DeliveryMode, OrderDirection, PhoneType, UserOrderField
from ccgraph.schema.node import decode, decode_id
from ccgraph.services.errors import UserError
from ccgraph.services.users import queries as users
from ccgraph.services.users.fields import FIELDS

U = UNSET
MAX_DIRECT_REPORTS = 1000  # users named by one direct reports call, as many as a bulk call's


@strawberry.input(description="A number for one channel, e.g. a refusal timeout in seconds.")
class ChannelValueInput:
    channel: Channel
    value: int


@strawberry.input
class UserOrganizationInput:
    job_title: str | None = U
    department: str | None = U
    employee_id: str | None = U


@strawberry.input
class ContactDetailsInput:
    main_phone: str | None = U
    mobile_phone: str | None = U
    home_phone: str | None = U


@strawberry.input
class AddressInput:
    street1: str | None = U
    street2: str | None = U
    city: str | None = U
    state: str | None = U
    postal_code: str | None = U
    country: str | None = strawberry.field(default=U, description="ISO 3166-1 alpha-2 code.")


@strawberry.input
class PhoneSettingsInput:
    type: PhoneType | None = U
    desk_phone_number: str | None = U
    auto_accept: bool | None = U


@strawberry.input
class ChannelSettingsInput:
    refusal_timeouts: list[ChannelValueInput] | None = U
    dialing_pattern: str | None = U
    agent_voice_threshold: int | None = U
    suppress_ringing: bool | None = U
    concurrent_chats: int | None = strawberry.field(default=U, description="Single-channel units only.")
    auto_parked_emails: int | None = strawberry.field(default=U, description="Single-channel units only.")
    request_contact: bool | None = strawberry.field(default=U, description="Single-channel units only.")


@strawberry.input(description="Needs the unit's omnichannelSessionHandling (and granularOsh) switch.")
class OmnichannelSettingsInput:
    max_contacts: list[ChannelValueInput] | None = U
    delivery_mode: DeliveryMode | None = U
    total_contact_count: int | None = U


@strawberry.input(description="Needs the unit's wfo switch.")
class WfoRecordingInput:
    system_domain: str | None = U
    system_username: str | None = U
    phones: list[str] | None = U


@strawberry.input(description="Needs the unit's wfm switch.")
class WfmNotificationsInput:
    email: bool | None = U
    sms: bool | None = U
    in_app: bool | None = U


@strawberry.input
class CustomFieldInput:
    slot: int = strawberry.field(description="1 to 5.")
    value: str | None


@strawberry.input(description="A skill and the user's proficiency in it (1 most, 20 least).")
class UserSkillInput:
    skill_id: relay.GlobalID
    proficiency: int


@strawberry.input
class UserFieldsInput:
    """The settings a user can be given; an omitted field is left as it is (or as it is copied)."""

    team_id: relay.GlobalID | None = U
    manager_id: relay.GlobalID | None = U
    security_profile_ids: list[relay.GlobalID] | None = U
    user_profile_id: relay.GlobalID | None = U
    timezone: str | None = strawberry.field(default=U, description="IANA time zone, e.g. Europe/London.")
    country: str | None = strawberry.field(default=U, description="ISO 3166-1 alpha-2 code.")
    city: str | None = U
    capacity: int | None = strawberry.field(default=U, description="Null clears it: the profile's applies.")
    default_presence_id: relay.GlobalID | None = U
    queue_ids: list[relay.GlobalID] | None = strawberry.field(default=U, description="The user's own queues.")
    work_stream_ids: list[relay.GlobalID] | None = U
    access_mode: AccessMode | None = U
    mailbox: str | None = U
    max_release_preview: bool | None = U
    crm_username: str | None = U
    organization: UserOrganizationInput | None = U
    contact: ContactDetailsInput | None = U
    address: AddressInput | None = U
    phone: PhoneSettingsInput | None = U
    channel_settings: ChannelSettingsInput | None = U
    omnichannel: OmnichannelSettingsInput | None = U
    wfo_recording: WfoRecordingInput | None = U
    wfm_notifications: WfmNotificationsInput | None = U
    custom_fields: list[CustomFieldInput] | None = U
    validate_only: bool = strawberry.field(default=False, description="Check everything; write nothing.")


@strawberry.input
class UserCreateInput(UserFieldsInput):
    username: str
    first_name: str
    last_name: str
    email: str
    password: str | None = strawberry.field(
        default=None, description="Leave empty when the security profile generates random passwords."
    )
    password_confirmation: str | None = None
    skills: list[UserSkillInput] | None = U
    business_unit_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Another unit than your own (needs EXTERNAL_BUSINESS_UNIT_VIEW)."
    )


@strawberry.input(
    description="A new user like the source: team, security profiles, profile, skills, "
    "routing, channel and phone settings. Identity and credentials are the new user's own."
)
class UserCopyInput(UserFieldsInput):
    source_user_id: relay.GlobalID
    username: str
    first_name: str
    last_name: str
    email: str
    password: str | None = None
    password_confirmation: str | None = None


@strawberry.input(description="Change only what is given; `version` must be the one last read.")
class UserUpdateInput(UserFieldsInput):
    id: relay.GlobalID
    version: int
    username: str | None = U
    first_name: str | None = U
    last_name: str | None = U
    email: str | None = U


@strawberry.input
class UserIdInput:
    id: relay.GlobalID
    validate_only: bool = False


@strawberry.input(description="Give the user this profile (replacing any other), or none with null.")
class UserAssignProfileInput:
    user_id: relay.GlobalID
    user_profile_id: relay.GlobalID | None
    validate_only: bool = False


@strawberry.input(
    description="A manager and users: added to, removed from, or set as the manager's direct "
    "reports (Dynamics 365 'Direct Reports'). Each is changed as `userUpdate` setting their "
    "`managerId` would change them; all or nothing."
)
class UserDirectReportsInput:
    manager_id: relay.GlobalID
    user_ids: list[relay.GlobalID] = strawberry.field(
        description=f"At most {MAX_DIRECT_REPORTS}. With Set, the manager's other direct reports "
        "(those you can see) lose this manager."
    )
    validate_only: bool = strawberry.field(default=False, description="Check everything; write nothing.")


ID_TYPES = {
    "team_id": "Team",
    "manager_id": "User",
    "user_profile_id": "UserProfile",
    "default_presence_id": "PresenceStatus",
}
IDENTITY = ("username", "first_name", "last_name", "email")
LIST_ID_TYPES = {
    "security_profile_ids": "SecurityProfile",
    "queue_ids": "Queue",
    "work_stream_ids": "WorkStream",
}


def _walk(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if obj is UNSET or obj is None:
            return UNSET
        obj = getattr(obj, name, UNSET)
    return obj


def user_values(data: Any) -> tuple[dict[str, Any], list[UserError]]:
    """The column values a user input asks for, and the IDs in it that are not valid IDs."""
    values: dict[str, Any] = {}
    errors: list[UserError] = []
    for f in FIELDS:
        if f.path[0] == "custom_fields":
            continue
        value = _walk(data, f.path)
        if value is UNSET:
            continue
        if f.column in ID_TYPES and value is not None:
            value = decode(f.api_path, value, ID_TYPES[f.column], errors)
        elif f.column in ("refusal_timeouts", "osh_max_contacts"):
            value = {c.channel.value: c.value for c in value or []}
        elif f.column == "wfo_phones":
            value = list(value or [])
        values[f.column] = value
    for index, custom in enumerate(_walk(data, ("custom_fields",)) or []):
        if not 1 <= custom.slot <= 5:
            errors.append(UserError(["customFields", str(index), "slot"], "INVALID", "slot must be 1 to 5"))
        else:
            values[f"custom_{custom.slot}"] = custom.value
    for key, type_name in LIST_ID_TYPES.items():
        ids = _walk(data, (key,))
        if ids is not UNSET:
            camel_key = "".join(p.title() if i else p for i, p in enumerate(key.split("_")))
            values[key] = [decode([camel_key, str(i)], v, type_name, errors) for i, v in enumerate(ids or [])]
    for column in IDENTITY:
        value = getattr(data, column, UNSET)
        if value is not UNSET:
            values[column] = value
    skills = _walk(data, ("skills",))
    if skills is not UNSET:
        values["skills"] = [
            (decode(["skills", str(i), "skillId"], s.skill_id, "Skill", errors), s.proficiency)
            for i, s in enumerate(skills or [])
        ]
    return values, errors


@strawberry.input(description="A custom field, by label, and the value it must have (case-insensitive).")
class CustomFieldFilter:
    label: str
    value: str | None


@strawberry.input(description="Narrow the user list; every given condition must hold.")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the username, first or last name, or e-mail."
    )
    enabled: bool | None = None
    team_id: relay.GlobalID | None = None
    user_profile_id: relay.GlobalID | None = None
    security_profile_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Users holding this security profile.",
        deprecation_reason="Use securityProfileIds.",
    )
    security_profile_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Users holding any of these security profiles (the Omnichannel users view: "
        "users with any of its roles). An empty list matches nobody; leave it out for no condition.",
    )
    skill_id: relay.GlobalID | None = strawberry.field(default=None, description="Users with this skill.")
    not_skill_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Users without this skill (the 'Add Users' picker)."
    )
    business_unit_id: relay.GlobalID | None = None
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(
        default=None, description="Custom fields by their unit's current label; every one must match."
    )


@strawberry.input
class UserOrder:
    field: UserOrderField = UserOrderField.USERNAME
    direction: OrderDirection = OrderDirection.ASC


def _id(name: str, value: relay.GlobalID | None, type_name: str) -> int | None:
    return None if value is None else decode_id(f"filter.{name}", value, type_name)[1]


def _ids(name: str, values: list[relay.GlobalID] | None, type_name: str) -> tuple[int, ...] | None:
    if values is None:
        return None
    return tuple(decode_id(f"filter.{name}.{i}", v, type_name)[1] for i, v in enumerate(values))


def user_filter(given: UserFilter | None) -> users.UserFilter:
    f = given or UserFilter()
    return users.UserFilter(
        search=f.search,
        enabled=f.enabled,
        team_id=_id("teamId", f.team_id, "Team"),
        user_profile_id=_id("userProfileId", f.user_profile_id, "UserProfile"),
        security_profile_id=_id("securityProfileId", f.security_profile_id, "SecurityProfile"),
        security_profile_ids=_ids("securityProfileIds", f.security_profile_ids, "SecurityProfile"),
        skill_id=_id("skillId", f.skill_id, "Skill"),
        not_skill_id=_id("notSkillId", f.not_skill_id, "Skill"),
        business_unit_id=_id("businessUnitId", f.business_unit_id, "BusinessUnit"),
        custom_fields=tuple((c.label, c.value) for c in f.custom_fields or ()),
    )
