"""The domain vocabularies, exposed as GraphQL enums: `strawberry.enum` registers each
domain enum in place (it returns the same class), so the names here are the domain's classes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import strawberry

from ccgraph.enums import (
    PERMISSION_DESCRIPTIONS,
    AccessMode,
    BaseStatus,
    Channel,
    DeliveryMode,
    Permission,
    PhoneType,
    SettingSource,
)
from ccgraph.services.users.queries import UserOrderField


def described(
    cls: type[enum.Enum], description: str, values: Mapping[Any, str], name: str | None = None
) -> None:
    """Register the domain enum `cls` as a GraphQL enum, each value described by `values`
    (keyed by member; a member without a description fails here, at import)."""
    strawberry.enum(cls, name=name, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[cls[value.name]]


described(Permission, "One action a security profile may grant.", PERMISSION_DESCRIPTIONS)
described(
    SettingSource,
    "Where an effective setting's value came from.",
    {
        SettingSource.USER: "Set on the user.",
        SettingSource.PROFILE: "Taken from the user's profile.",
        SettingSource.BOTH: "Combined from the user and their profile.",
    },
)
described(
    Channel,
    "The channel of a work stream.",
    {
        Channel.VOICE: "Phone calls.",
        Channel.CHAT: "Web chat.",
        Channel.EMAIL: "E-mail.",
        Channel.SMS: "Text messages.",
        Channel.SOCIAL: "Social media messages.",
        Channel.WORK_ITEM: "Work items such as cases or tasks.",
    },
)
described(
    BaseStatus,
    "The base status a presence status maps to.",
    {
        BaseStatus.AVAILABLE: "Ready to take work.",
        BaseStatus.BUSY: "Working, but can still be offered work.",
        BaseStatus.BUSY_DND: "Busy, do not disturb: no work is offered.",
        BaseStatus.AWAY: "Away from the desk: no work is offered.",
        BaseStatus.OFFLINE: "Signed out.",
    },
)
described(
    PhoneType,
    "The kind of phone an agent takes calls on.",
    {
        PhoneType.SOFTPHONE: "A phone in the browser or desktop app.",
        PhoneType.DESK_PHONE: "A physical desk phone.",
    },
)
described(
    AccessMode,
    "Client access licence mode.",
    {
        AccessMode.READ_WRITE: "Full use of the application.",
        AccessMode.ADMINISTRATIVE: "Administration only, no business data.",
        AccessMode.READ: "Read-only use.",
        AccessMode.NON_INTERACTIVE: "For integrations: no sign-in to the user interface.",
    },
)
described(
    DeliveryMode,
    "How contacts are offered under OSH.",
    {
        DeliveryMode.AUTOMATIC: "Contacts are pushed to the agent as they arrive.",
        DeliveryMode.MANUAL: "The agent picks contacts up.",
    },
)
described(
    UserOrderField,
    "What a list of users is sorted by.",
    {
        UserOrderField.USERNAME: "The username.",
        UserOrderField.FIRST_NAME: "The first name.",
        UserOrderField.LAST_NAME: "The last name.",
        UserOrderField.EMAIL: "The e-mail address.",
        UserOrderField.CREATED_AT: "When the user was created.",
    },
    name="UserOrderField",
)

__all__ = [
    "AccessMode",
    "BaseStatus",
    "Channel",
    "DeliveryMode",
    "OrderDirection",
    "Permission",
    "PhoneType",
    "ProficiencyOrder",
    "ProficiencyOrderField",
    "SettingSource",
    "UserOrderField",
]


@strawberry.enum(description="The direction of a sort.")
class OrderDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: A to Z, smallest first, oldest first.")
    DESC = strawberry.enum_value("DESC", description="Descending: Z to A, largest first, newest first.")


@strawberry.enum(description="Order of a user's skills (by skill name) or a skill's users (by username).")
class ProficiencyOrderField(enum.Enum):
    NAME = strawberry.enum_value("NAME", description="By the skill's name, or the user's username.")
    PROFICIENCY = strawberry.enum_value(
        "PROFICIENCY", description="By proficiency (1, the most proficient, first)."
    )


@strawberry.input(description="The order of a list of proficiencies.")
class ProficiencyOrder:
    field: ProficiencyOrderField = strawberry.field(
        default=ProficiencyOrderField.NAME, description="What to sort by."
    )
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")

    def key(self) -> str:
        return f"{self.field.value}:{self.direction.value}"
