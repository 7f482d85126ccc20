"""The closed vocabularies of the domain, shared by db, services and schema."""

from __future__ import annotations

import enum


class Permission(enum.StrEnum):
    """One value per action the product pages name; a security profile grants a set of them."""

    USERS_VIEW = "USERS_VIEW"
    USERS_CREATE = "USERS_CREATE"
    USERS_EDIT = "USERS_EDIT"
    USERS_DELETE = "USERS_DELETE"
    SKILLS_VIEW = "SKILLS_VIEW"
    SKILLS_EDIT = "SKILLS_EDIT"
    USER_PROFILES_VIEW = "USER_PROFILES_VIEW"
    USER_PROFILES_EDIT = "USER_PROFILES_EDIT"
    QUEUES_VIEW = "QUEUES_VIEW"
    QUEUES_EDIT = "QUEUES_EDIT"
    WORK_STREAMS_VIEW = "WORK_STREAMS_VIEW"
    WORK_STREAMS_EDIT = "WORK_STREAMS_EDIT"
    PRESENCE_STATUSES_VIEW = "PRESENCE_STATUSES_VIEW"
    PRESENCE_STATUSES_EDIT = "PRESENCE_STATUSES_EDIT"
    TEAMS_VIEW = "TEAMS_VIEW"
    TEAMS_EDIT = "TEAMS_EDIT"
    SECURITY_PROFILES_VIEW = "SECURITY_PROFILES_VIEW"
    SECURITY_PROFILES_EDIT = "SECURITY_PROFILES_EDIT"
    BUSINESS_UNITS_VIEW = "BUSINESS_UNITS_VIEW"
    BUSINESS_UNITS_EDIT = "BUSINESS_UNITS_EDIT"
    BUSINESS_UNIT_CUSTOM_FIELDS_EDIT = "BUSINESS_UNIT_CUSTOM_FIELDS_EDIT"
    EXTERNAL_BUSINESS_UNIT_VIEW = "EXTERNAL_BUSINESS_UNIT_VIEW"
    ACCESS_KEY_CREATE = "ACCESS_KEY_CREATE"
    AUDIT_VIEW = "AUDIT_VIEW"
    WEBHOOKS_MANAGE = "WEBHOOKS_MANAGE"

    @property
    def description(self) -> str:
        return PERMISSION_DESCRIPTIONS[self]


PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.USERS_VIEW: "See users and their settings.",
    Permission.USERS_CREATE: "Create users, one at a time, by copy or in bulk.",
    Permission.USERS_EDIT: "Edit users, reset their passwords and MFA secrets, enable and disable them.",
    Permission.USERS_DELETE: "Delete users (they are logged out everywhere).",
    Permission.SKILLS_VIEW: "See skills.",
    Permission.SKILLS_EDIT: "Create, edit and assign skills and proficiencies.",
    Permission.USER_PROFILES_VIEW: "See user (routing) profiles.",
    Permission.USER_PROFILES_EDIT: "Create, edit and delete user profiles and assign them.",
    Permission.QUEUES_VIEW: "See queues.",
    Permission.QUEUES_EDIT: "Create, edit and delete queues.",
    Permission.WORK_STREAMS_VIEW: "See work streams (channels).",
    Permission.WORK_STREAMS_EDIT: "Create, edit and delete work streams.",
    Permission.PRESENCE_STATUSES_VIEW: "See presence statuses.",
    Permission.PRESENCE_STATUSES_EDIT: "Create, edit and delete presence statuses.",
    Permission.TEAMS_VIEW: "See teams.",
    Permission.TEAMS_EDIT: "Create, edit and delete teams.",
    Permission.SECURITY_PROFILES_VIEW: "See security profiles and their permissions.",
    Permission.SECURITY_PROFILES_EDIT: "Create, edit and delete security profiles.",
    Permission.BUSINESS_UNITS_VIEW: "See business units.",
    Permission.BUSINESS_UNITS_EDIT: "Create and edit business units and their feature switches.",
    Permission.BUSINESS_UNIT_CUSTOM_FIELDS_EDIT: "Rename the five custom user fields.",
    Permission.EXTERNAL_BUSINESS_UNIT_VIEW: "See data of business units other than one's own.",
    Permission.ACCESS_KEY_CREATE: "Create and manage access keys for partner integrations.",
    Permission.AUDIT_VIEW: "Read the audit trail.",
    Permission.WEBHOOKS_MANAGE: "Create and manage webhook endpoints that are told of the changes "
    "their owner may see.",
}


class SettingSource(enum.StrEnum):
    """Where an effective setting's value came from."""

    USER = "USER"
    PROFILE = "PROFILE"
    BOTH = "BOTH"


class Channel(enum.StrEnum):
    VOICE = "VOICE"
    CHAT = "CHAT"
    EMAIL = "EMAIL"
    SMS = "SMS"
    SOCIAL = "SOCIAL"
    WORK_ITEM = "WORK_ITEM"


class BaseStatus(enum.StrEnum):
    """The base presence statuses every custom status maps to (Dynamics 365)."""

    AVAILABLE = "AVAILABLE"
    BUSY = "BUSY"
    BUSY_DND = "BUSY_DND"
    AWAY = "AWAY"
    OFFLINE = "OFFLINE"


class PhoneType(enum.StrEnum):
    SOFTPHONE = "SOFTPHONE"
    DESK_PHONE = "DESK_PHONE"


class AccessMode(enum.StrEnum):
    """Client access licence modes (Dynamics 365 'Administration' tab)."""

    READ_WRITE = "READ_WRITE"
    ADMINISTRATIVE = "ADMINISTRATIVE"
    READ = "READ"
    NON_INTERACTIVE = "NON_INTERACTIVE"


class DeliveryMode(enum.StrEnum):
    """Granular omnichannel session handling: how contacts are offered to the agent."""

    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"
