"""Every writable user field in one table: where it sits in the input, how it is checked,
which business-unit switch it needs, and whether `userCopy` carries it over. Creation, update,
copy, bulk import and the audit trail all read this table, so a rule lives here once."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ccgraph.db.models import BusinessUnit
from ccgraph.services import validation as v


class Feature(enum.Enum):
    """A business-unit switch, named as the API shows it (`BusinessUnit.features`)."""

    OMNICHANNEL = ("omnichannelSessionHandling", "omnichannel_session_handling", True)
    GRANULAR_OSH = ("granularOsh", "granular_osh", True)
    SINGLE_CHANNEL = ("omnichannelSessionHandling", "omnichannel_session_handling", False)
    WFO = ("wfo", "wfo_enabled", True)
    WFM = ("wfm", "wfm_enabled", True)
    MAX_RELEASE_PREVIEW = ("maxReleasePreviewAllowed", "max_release_preview_allowed", True)
    CRM = ("crmIntegration", "crm_integration_enabled", True)

    def __init__(self, switch: str, column: str, needed: bool) -> None:
        self.switch = switch
        self.column = column
        self.needed = needed

    def applies(self, unit: BusinessUnit) -> bool:
        return bool(getattr(unit, self.column)) == self.needed

    def refusal(self) -> str:
        state = "on" if self.needed else "off"
        return f"needs the business unit's feature switch {self.switch} to be {state}"

    @property
    def rule(self) -> str:
        """The refusal as a sentence, for the API's descriptions."""
        return f"Only with the business unit's feature switch {self.switch} {'on' if self.needed else 'off'}."


@dataclass(frozen=True, slots=True)
class UserField:
    column: str
    path: tuple[str, ...]  # attribute path in the input, snake_case
    check: v.Check | None = None
    feature: Feature | None = None
    copied: bool = False
    # Set only by the identity provider that provisions the user over SCIM: checked and audited
    # like any field, but neither a GraphQL input nor a users file's column.
    provisioned: bool = False

    @property
    def api_path(self) -> list[str]:
        return [camel(p) for p in self.path]

    def describe(self, about: str) -> str:
        """The input field's description: `about`, then the rule it is checked by and the switch
        it needs, both quoted from the check and the switch themselves."""
        rules = (self.check.rule if self.check else "", self.feature.rule if self.feature else "")
        return " ".join(part for part in (about, *rules) if part)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


F = UserField
CUSTOM_FIELD_SLOTS = range(1, 6)  # the business unit labels each slot
FIELDS: tuple[UserField, ...] = (
    # Identity: never copied.
    F("username", ("username",), v.username),
    F("first_name", ("first_name",), v.text(100, required=True)),
    F("last_name", ("last_name",), v.text(100, required=True)),
    F("email", ("email",), v.email),
    F("external_id", ("external_id",), v.identifier(255), provisioned=True),
    # Organisation and place.
    F("team_id", ("team_id",), copied=True),
    F("manager_id", ("manager_id",), copied=True),
    F("job_title", ("organization", "job_title"), v.text(100)),
    F("department", ("organization", "department"), v.text(100), copied=True),
    F("employee_id", ("organization", "employee_id"), v.text(50)),
    F("timezone", ("timezone",), v.timezone, copied=True),
    F("country", ("country",), v.country, copied=True),
    F("city", ("city",), v.text(100), copied=True),
    # Contact and address: personal, never copied.
    F("main_phone", ("contact", "main_phone"), v.phone),
    F("mobile_phone", ("contact", "mobile_phone"), v.phone),
    F("home_phone", ("contact", "home_phone"), v.phone),
    F("address_street1", ("address", "street1"), v.text(200)),
    F("address_street2", ("address", "street2"), v.text(200)),
    F("address_city", ("address", "city"), v.text(100)),
    F("address_state", ("address", "state"), v.text(100)),
    F("address_postal_code", ("address", "postal_code"), v.text(20)),
    F("address_country", ("address", "country"), v.country),
    # Administration.
    F("access_mode", ("access_mode",), copied=True),
    F("mailbox", ("mailbox",), v.optional_email),
    # Routing.
    F("user_profile_id", ("user_profile_id",), copied=True),
    F("capacity", ("capacity",), v.int_range(0, 10_000), copied=True),
    F("default_presence_id", ("default_presence_id",), copied=True),
    # Phone: the desk phone number belongs to a desk, not to a role.
    F("phone_type", ("phone", "type"), copied=True),
    F("desk_phone_number", ("phone", "desk_phone_number"), v.phone),
    F("auto_accept_calls", ("phone", "auto_accept"), copied=True),
    # Channel settings.
    F("refusal_timeouts", ("channel_settings", "refusal_timeouts"), v.per_channel(0, 3600), copied=True),
    F("dialing_pattern", ("channel_settings", "dialing_pattern"), v.text(50), copied=True),
    F(
        "agent_voice_threshold",
        ("channel_settings", "agent_voice_threshold"),
        v.int_range(0, 100),
        copied=True,
    ),
    F("suppress_ringing", ("channel_settings", "suppress_ringing"), copied=True),
    F(
        "concurrent_chats",
        ("channel_settings", "concurrent_chats"),
        v.int_range(0, 50),
        Feature.SINGLE_CHANNEL,
        copied=True,
    ),
    F(
        "auto_parked_emails",
        ("channel_settings", "auto_parked_emails"),
        v.int_range(0, 100),
        Feature.SINGLE_CHANNEL,
        copied=True,
    ),
    F("request_contact", ("channel_settings", "request_contact"), None, Feature.SINGLE_CHANNEL, copied=True),
    # Omnichannel session handling.
    F(
        "osh_max_contacts",
        ("omnichannel", "max_contacts"),
        v.per_channel(0, 100),
        Feature.OMNICHANNEL,
        copied=True,
    ),
    F("osh_delivery_mode", ("omnichannel", "delivery_mode"), None, Feature.GRANULAR_OSH, copied=True),
    F(
        "osh_total_contact_count",
        ("omnichannel", "total_contact_count"),
        v.int_range(0, 100),
        Feature.GRANULAR_OSH,
        copied=True,
    ),
    # WFO recording: the system account and phones are the person's own.
    F("wfo_system_domain", ("wfo_recording", "system_domain"), v.text(100), Feature.WFO, copied=True),
    F("wfo_system_username", ("wfo_recording", "system_username"), v.text(100), Feature.WFO),
    F("wfo_phones", ("wfo_recording", "phones"), v.phones, Feature.WFO),
    F("max_release_preview", ("max_release_preview",), None, Feature.MAX_RELEASE_PREVIEW, copied=True),
    F("wfm_notify_email", ("wfm_notifications", "email"), None, Feature.WFM, copied=True),
    F("wfm_notify_sms", ("wfm_notifications", "sms"), None, Feature.WFM, copied=True),
    F("wfm_notify_in_app", ("wfm_notifications", "in_app"), None, Feature.WFM, copied=True),
    F("crm_username", ("crm_username",), v.text(150), Feature.CRM),
    # Custom fields 1-5 (their labels live on the business unit).
    *(F(f"custom_{slot}", ("custom_fields", str(slot)), v.text(200)) for slot in CUSTOM_FIELD_SLOTS),
)
BY_COLUMN = {f.column: f for f in FIELDS}
# The columns of a users file, in order: an identity provider's id is not one (an export edited
# and imported again must not rewrite the link the provider keeps).
FILE_FIELDS = tuple(f for f in FIELDS if not f.provisioned)
REQUIRED_ON_CREATE = ("username", "first_name", "last_name", "email")
# Collections, besides the columns: the ids of what the user is linked to.
COLLECTIONS = {
    "security_profile_ids": ["securityProfileIds"],
    "queue_ids": ["queueIds"],
    "work_stream_ids": ["workStreamIds"],
    "skills": ["skills"],
}
COPIED_COLLECTIONS = ("security_profile_ids", "queue_ids", "work_stream_ids", "skills")


def applies(unit: BusinessUnit, column: str) -> bool:
    """Whether a user field is in force in the unit; one that is not reads as null."""
    feature = BY_COLUMN[column].feature
    return feature is None or feature.applies(unit)


def meaningful(column: str, value: Any) -> bool:
    """Whether a value asks for a feature: blanks, "off" and the column's default never do."""
    if value in (None, False, "", [], {}):
        return False
    from ccgraph.db.models import User

    default = User.__table__.c[column].default
    return not (default is not None and default.is_scalar and default.arg == value)


def snapshot(user: Any, links: dict[str, Any]) -> dict[str, Any]:
    """The user's audited state: every field of the table, plus the linked ids."""
    state = {f.column: getattr(user, f.column) for f in FIELDS}
    state["enabled"] = user.enabled
    return state | links
