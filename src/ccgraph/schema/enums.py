"""The domain vocabularies, exposed as GraphQL enums."""

from __future__ import annotations

import enum

import strawberry

from ccgraph import enums
from ccgraph.services.users.queries import UserOrderField as _UserOrderField

Permission = strawberry.enum(enums.Permission, description="One action a security profile may grant.")
SettingSource = strawberry.enum(
    enums.SettingSource, description="Where an effective setting's value came from."
)
Channel = strawberry.enum(enums.Channel, description="The channel of a work stream.")
BaseStatus = strawberry.enum(enums.BaseStatus, description="The base status a presence status maps to.")
PhoneType = strawberry.enum(enums.PhoneType)
AccessMode = strawberry.enum(enums.AccessMode, description="Client access licence mode.")
DeliveryMode = strawberry.enum(enums.DeliveryMode, description="How contacts are offered under OSH.")
UserOrderField = strawberry.enum(_UserOrderField, name="UserOrderField")


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
