"""The domain vocabularies, exposed as GraphQL enums: `strawberry.enum` registers each
domain enum in place (it returns the same class), so the names here are the domain's classes."""

from __future__ import annotations

import enum

import strawberry

from ccgraph.enums import AccessMode, BaseStatus, Channel, DeliveryMode, Permission, PhoneType, SettingSource
from ccgraph.services.users.queries import UserOrderField

strawberry.enum(Permission, description="One action a security profile may grant.")
strawberry.enum(SettingSource, description="Where an effective setting's value came from.")
strawberry.enum(Channel, description="The channel of a work stream.")
strawberry.enum(BaseStatus, description="The base status a presence status maps to.")
strawberry.enum(PhoneType)
strawberry.enum(AccessMode, description="Client access licence mode.")
strawberry.enum(DeliveryMode, description="How contacts are offered under OSH.")
strawberry.enum(UserOrderField, name="UserOrderField")

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


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="Order of a user's skills (by skill name) or a skill's users (by username).")
class ProficiencyOrderField(enum.Enum):
    NAME = "NAME"
    PROFICIENCY = "PROFICIENCY"


@strawberry.input
class ProficiencyOrder:
    field: ProficiencyOrderField = ProficiencyOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC

    def key(self) -> str:
        return f"{self.field.value}:{self.direction.value}"
