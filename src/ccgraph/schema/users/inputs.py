"""Inputs of the user queries and mutations, grouped as `User` is read, and their translation into
what the services take (see services/users/fields.py). Each input field of a user field is
described with the rule its check enforces, quoted from the check (`user_field`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay

from ccgraph.db.models.skills import PROFICIENCY_LEAST, PROFICIENCY_MOST
from ccgraph.schema.descriptions import VALIDATE, VERSION
from ccgraph.schema.enums import AccessMode, Channel, DeliveryMode, OrderDirection, PhoneType, UserOrderField
from ccgraph.schema.node import decode, decode_id
from ccgraph.services.errors import InputError, UserError
from ccgraph.services.users import queries as users
from ccgraph.services.users.fields import BY_COLUMN, CUSTOM_FIELD_SLOTS, FIELDS

U = UNSET
MAX_DIRECT_REPORTS = 1000  # users named by one direct reports call, as many as a bulk call's
PROFICIENCY = f"From {PROFICIENCY_MOST} (most proficient) to {PROFICIENCY_LEAST} (least)."
SLOTS = f"{CUSTOM_FIELD_SLOTS.start} to {CUSTOM_FIELD_SLOTS.stop - 1}"
PASSWORD = (
    "The new password; it must meet the password policy of the user's security profiles. "
    "Leave it out when a security profile generates random passwords."
)
PASSWORD_CONFIRMATION = "The same password again."


def user_field(column: str, about: str, *, required: bool = False) -> Any:
    """The input field of the user field `column`: omitted, it is left as it is, unless `required`."""
    description = BY_COLUMN[column].describe(about)
    return (
        strawberry.field(description=description)
        if required
        else strawberry.field(default=U, description=description)
    )


@strawberry.input(description="A number for one channel, e.g. a refusal timeout in seconds.")
class ChannelValueInput:
    channel: Channel = strawberry.field(description="The channel the number is for.")
    value: int = strawberry.field(description="The number for that channel.")


@strawberry.input(description="Where the user sits in the organisation.")
class UserOrganizationInput:
    job_title: str | None = user_field("job_title", "The user's job title.")
    department: str | None = user_field("department", "The department the user works in.")
    employee_id: str | None = user_field("employee_id", "The user's employee number in your HR system.")


@strawberry.input(description="The user's personal phone numbers.")
class ContactDetailsInput:
    main_phone: str | None = user_field("main_phone", "The number to reach the user on first.")
    mobile_phone: str | None = user_field("mobile_phone", "The user's mobile number.")
    home_phone: str | None = user_field("home_phone", "The user's home number.")


@strawberry.input(description="The user's postal address.")
class AddressInput:
    street1: str | None = user_field("address_street1", "Street and number.")
    street2: str | None = user_field("address_street2", "More of the street address: flat, building.")
    city: str | None = user_field("address_city", "Town or city.")
    state: str | None = user_field("address_state", "State, county or region.")
    postal_code: str | None = user_field("address_postal_code", "Postal or ZIP code.")
    country: str | None = user_field("address_country", "Country.")


@strawberry.input(description="The phone the agent answers calls on.")
class PhoneSettingsInput:
    type: PhoneType | None = user_field("phone_type", "A softphone in the browser, or a desk phone.")
    desk_phone_number: str | None = user_field(
        "desk_phone_number", "The desk phone's number, for a desk phone."
    )
    auto_accept: bool | None = user_field("auto_accept_calls", "Whether calls are answered without a click.")


@strawberry.input(description="How the user is offered work on each channel.")
class ChannelSettingsInput:
    refusal_timeouts: list[ChannelValueInput] | None = user_field(
        "refusal_timeouts", "Seconds an offered contact waits for the user before it is counted as refused."
    )
    dialing_pattern: str | None = user_field(
        "dialing_pattern", "The pattern outgoing numbers are dialled with."
    )
    agent_voice_threshold: int | None = user_field(
        "agent_voice_threshold", "The voice level at which the agent counts as speaking."
    )
    suppress_ringing: bool | None = user_field(
        "suppress_ringing", "Suppress ringing on a personal connection."
    )
    concurrent_chats: int | None = user_field("concurrent_chats", "Chats the user handles at the same time.")
    auto_parked_emails: int | None = user_field(
        "auto_parked_emails", "E-mails parked for the user automatically."
    )
    request_contact: bool | None = user_field(
        "request_contact", "Whether the user asks for the next contact instead of being offered it."
    )


@strawberry.input(description="How many contacts the user handles at once across channels.")
class OmnichannelSettingsInput:
    max_contacts: list[ChannelValueInput] | None = user_field(
        "osh_max_contacts", "Maximum simultaneous contacts per channel."
    )
    delivery_mode: DeliveryMode | None = user_field(
        "osh_delivery_mode", "How contacts are delivered to the user."
    )
    total_contact_count: int | None = user_field(
        "osh_total_contact_count", "Maximum simultaneous contacts over all channels."
    )


@strawberry.input(description="The user's account in the WFO recording system.")
class WfoRecordingInput:
    system_domain: str | None = user_field("wfo_system_domain", "The recording system's domain.")
    system_username: str | None = user_field(
        "wfo_system_username", "The user's name in the recording system."
    )
    phones: list[str] | None = user_field("wfo_phones", "The phone numbers recorded for the user.")


@strawberry.input(description="How the user hears of WFM schedule changes.")
class WfmNotificationsInput:
    email: bool | None = user_field("wfm_notify_email", "By e-mail.")
    sms: bool | None = user_field("wfm_notify_sms", "By text message.")
    in_app: bool | None = user_field("wfm_notify_in_app", "In the application.")


@strawberry.input(description="The value of one of the business unit's custom user fields.")
class CustomFieldInput:
    slot: int = strawberry.field(
        description=f"Which custom field: {SLOTS}, as the business unit labels them."
    )
    value: str | None = strawberry.field(
        description=BY_COLUMN["custom_1"].describe("The value; null clears it.")
    )


@strawberry.input(description="A skill and how proficient the user is in it.")
class UserSkillInput:
    skill_id: relay.GlobalID = strawberry.field(description="The skill.")
    proficiency: int = strawberry.field(description=PROFICIENCY)


@strawberry.input(description="The settings a user can be given; an omitted field is left as it is.")
class UserFieldsInput:
    team_id: relay.GlobalID | None = user_field("team_id", "The team the user belongs to.")
    manager_id: relay.GlobalID | None = user_field("manager_id", "The user's manager.")
    security_profile_ids: list[relay.GlobalID] | None = strawberry.field(
        default=U,
        description="The security profiles granting the user's permissions; replaces the current ones.",
    )
    user_profile_id: relay.GlobalID | None = user_field(
        "user_profile_id", "The user profile the user inherits routing settings from."
    )
    timezone: str | None = user_field("timezone", "The time zone the user works in.")
    country: str | None = user_field("country", "The country the user works in.")
    city: str | None = user_field("city", "The city the user works in.")
    capacity: int | None = user_field(
        "capacity", "How much work the user takes at once; null clears it and the user profile's applies."
    )
    default_presence_id: relay.GlobalID | None = user_field(
        "default_presence_id",
        "The presence the user starts in; null clears it and the user profile's applies.",
    )
    queue_ids: list[relay.GlobalID] | None = strawberry.field(
        default=U, description="The user's own queues, besides the user profile's; replaces the current ones."
    )
    work_stream_ids: list[relay.GlobalID] | None = strawberry.field(
        default=U,
        description="The user's own work streams, besides the user profile's; replaces the current ones.",
    )
    access_mode: AccessMode | None = user_field("access_mode", "The user's client access licence mode.")
    mailbox: str | None = user_field("mailbox", "The mailbox the user handles e-mails from.")
    max_release_preview: bool | None = user_field(
        "max_release_preview", "Whether the user sees MAX release previews."
    )
    crm_username: str | None = user_field("crm_username", "The user's name in the integrated CRM.")
    organization: UserOrganizationInput | None = strawberry.field(
        default=U, description="Job title, department and employee ID."
    )
    contact: ContactDetailsInput | None = strawberry.field(default=U, description="Personal phone numbers.")
    address: AddressInput | None = strawberry.field(default=U, description="Postal address.")
    phone: PhoneSettingsInput | None = strawberry.field(
        default=U, description="The phone the user answers on."
    )
    channel_settings: ChannelSettingsInput | None = strawberry.field(
        default=U, description="How the user is offered work on each channel."
    )
    omnichannel: OmnichannelSettingsInput | None = strawberry.field(
        default=U, description="Omnichannel session handling: contacts at once, per channel and in all."
    )
    wfo_recording: WfoRecordingInput | None = strawberry.field(
        default=U, description="The user's account in the WFO recording system."
    )
    wfm_notifications: WfmNotificationsInput | None = strawberry.field(
        default=U, description="How the user hears of WFM schedule changes."
    )
    custom_fields: list[CustomFieldInput] | None = strawberry.field(
        default=U, description="Custom field values by slot; the slots not listed are left as they are."
    )


@strawberry.input(description="Who a new user is: their identity and first password.")
class NewUserIdentityInput:
    username: str = user_field("username", "The name the user signs in with.", required=True)
    first_name: str = user_field("first_name", "The user's first name.", required=True)
    last_name: str = user_field("last_name", "The user's last name.", required=True)
    email: str = user_field("email", "The user's e-mail address.", required=True)
    password: str | None = strawberry.field(default=None, description=PASSWORD)
    password_confirmation: str | None = strawberry.field(default=None, description=PASSWORD_CONFIRMATION)


@strawberry.input(
    description="A new user. Only the username, names and e-mail are required; "
    "the settings can be given now or later."
)
class UserCreateInput(NewUserIdentityInput, UserFieldsInput):
    skills: list[UserSkillInput] | None = strawberry.field(
        default=U, description="The user's skills and proficiencies."
    )
    business_unit_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Create the user in another business unit than your own "
        "(needs EXTERNAL_BUSINESS_UNIT_VIEW).",
    )
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="The user a copy is made from.")
class CopySourceInput:
    source_user_id: relay.GlobalID = strawberry.field(description="The user to copy.")


@strawberry.input(
    description="A new user like the source: team, security profiles, profile, skills, "
    "routing, channel and phone settings. Identity and credentials are the new user's own."
)
class UserCopyInput(CopySourceInput, NewUserIdentityInput, UserFieldsInput):
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="The user an update changes, and their identity.")
class UserUpdateIdentityInput:
    id: relay.GlobalID = strawberry.field(description="The user to change.")
    version: int = strawberry.field(description=VERSION)
    username: str | None = user_field("username", "The name the user signs in with.")
    first_name: str | None = user_field("first_name", "The user's first name.")
    last_name: str | None = user_field("last_name", "The user's last name.")
    email: str | None = user_field("email", "The user's e-mail address.")


@strawberry.input(description="Change only what is given; `version` must be the one last read.")
class UserUpdateInput(UserUpdateIdentityInput, UserFieldsInput):
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="One user, by ID.")
class UserIdInput:
    id: relay.GlobalID = strawberry.field(description="The user.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Give the user this profile (replacing any other), or none with null.")
class UserAssignProfileInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    user_profile_id: relay.GlobalID | None = strawberry.field(
        description="The user profile to give, or null for none."
    )
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(
    description="A manager and users: added to, removed from, or set as the manager's direct "
    "reports (Dynamics 365 'Direct Reports'). Each is changed as `userUpdate` setting their "
    "`managerId` would change them; all or nothing."
)
class UserDirectReportsInput:
    manager_id: relay.GlobalID = strawberry.field(description="The manager.")
    user_ids: list[relay.GlobalID] = strawberry.field(
        description=f"At most {MAX_DIRECT_REPORTS}. With Set, the manager's other direct reports "
        "(those you can see) lose this manager."
    )
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


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
        if custom.slot not in CUSTOM_FIELD_SLOTS:
            errors.append(UserError(["customFields", str(index), "slot"], "INVALID", f"slot must be {SLOTS}"))
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
    label: str = strawberry.field(description="The custom field's label in the user's business unit.")
    value: str | None = strawberry.field(description="The value it must have; null for no value.")


@strawberry.input(description="Narrow the user list; every given condition must hold.")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the username, first or last name, or e-mail."
    )
    enabled: bool | None = strawberry.field(
        default=None, description="Only enabled, or only disabled, users."
    )
    team_id: relay.GlobalID | None = strawberry.field(default=None, description="Members of this team.")
    user_profile_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Users with this user profile."
    )
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
    business_unit_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Users of this business unit (yours when left out)."
    )
    custom_fields: list[CustomFieldFilter] | None = strawberry.field(
        default=None, description="Custom fields by their unit's current label; every one must match."
    )
    updated_since: datetime | None = strawberry.field(
        default=None,
        description="Users created or changed at or after this instant (with its UTC offset): an "
        "integrator's sync, from the `updatedAt` it last saw. Deleted users are not listed: the "
        "`events` feed tells of them (USER_DELETED).",
    )


@strawberry.input(description="The order of the user list.")
class UserOrder:
    field: UserOrderField = strawberry.field(default=UserOrderField.USERNAME, description="What to sort by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="Ascending or descending."
    )


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
        updated_since=_instant("updatedSince", f.updated_since),
    )


def _instant(name: str, value: datetime | None) -> datetime | None:
    """A time to compare with stored ones (UTC): one without an offset is refused, not guessed."""
    if value is not None and value.utcoffset() is None:
        raise InputError(f"filter.{name}", "needs a UTC offset, e.g. 2025-01-31T09:00:00Z")
    return value
