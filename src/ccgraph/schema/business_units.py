from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.node import node_type


@strawberry.type(description="Feature switches: they decide which user fields apply.")
class BusinessUnitFeatures:
    omnichannel_session_handling: bool
    granular_osh: bool = strawberry.field(description="Granular OSH: delivery mode and total contacts.")
    wfo: bool
    wfm: bool
    max_release_preview_allowed: bool
    crm_integration: bool


@strawberry.type(description="A custom user field: its slot (1-5) and the label the unit gave it.")
class CustomFieldLabel:
    slot: int
    label: str


@node_type(m.BusinessUnit, "business_unit", business_unit_attr="id")
@strawberry.type(description="The tenant: every other object belongs to one business unit.")
class BusinessUnit(relay.Node):
    id: relay.NodeID[int]
    name: str
    custom_fields: list[CustomFieldLabel]
    features: BusinessUnitFeatures

    @classmethod
    def from_row(cls, row: m.BusinessUnit) -> BusinessUnit:
        return cls(
            id=row.id,
            name=row.name,
            custom_fields=[
                CustomFieldLabel(slot=i, label=label) for i, label in enumerate(row.custom_field_labels(), 1)
            ],
            features=BusinessUnitFeatures(
                omnichannel_session_handling=row.omnichannel_session_handling,
                granular_osh=row.granular_osh,
                wfo=row.wfo_enabled,
                wfm=row.wfm_enabled,
                max_release_preview_allowed=row.max_release_preview_allowed,
                crm_integration=row.crm_integration_enabled,
            ),
        )
