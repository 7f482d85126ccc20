"""Business units: their feature switches, custom field labels and password policy, and the inputs
that change them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.catalog.types import VERSION
from ccgraph.schema.descriptions import UPDATE, UPDATED_AT, VALIDATE
from ccgraph.schema.descriptions import VERSION as VERSION_GIVEN
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import RESULT, USER_ERRORS, FieldChange, changes_field, payload_description

OSH = "Omnichannel session handling: users get per-channel settings."
GRANULAR_OSH = "Granular OSH: delivery mode and total contacts."
WFO = "Workforce optimisation (call recording settings)."
WFM = "Workforce management (schedule notifications)."
RELEASE_PREVIEW = "Whether users may opt in to preview releases."
CRM = "Integration with the CRM."
UNIT_ID = "The business unit's global ID."


@strawberry.type(description="Feature switches: they decide which user fields apply.")
class BusinessUnitFeatures:
    omnichannel_session_handling: bool = strawberry.field(description=OSH)
    granular_osh: bool = strawberry.field(description=GRANULAR_OSH)
    wfo: bool = strawberry.field(description=WFO)
    wfm: bool = strawberry.field(description=WFM)
    max_release_preview_allowed: bool = strawberry.field(description=RELEASE_PREVIEW)
    crm_integration: bool = strawberry.field(description=CRM)


@strawberry.type(description="A custom user field: its slot (1-5) and the label the unit gave it.")
class CustomFieldLabel:
    slot: int = strawberry.field(description="Which custom field, 1 to 5.")
    label: str = strawberry.field(description="The name the unit gave the field.")


@node_type(m.BusinessUnit, "business_unit", business_unit_attr="id")
@strawberry.type(description="The tenant: every other object belongs to one business unit.")
class BusinessUnit(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The unit's name.")
    custom_fields: list[CustomFieldLabel] = strawberry.field(
        description="The five custom user fields' labels."
    )
    features: BusinessUnitFeatures = strawberry.field(description="The unit's feature switches.")
    version: int = strawberry.field(description=VERSION)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)

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
            version=row.version,
            updated_at=row.updated_at,
        )


@strawberry.input(description="A new label for one custom field.")
class CustomFieldLabelInput:
    slot: int = strawberry.field(description="1 to 5.")
    label: str = strawberry.field(description="Trimmed; 1 to 50 characters; unique in the unit.")


@strawberry.input(
    description="Rename custom fields; every stored value stays with its field. "
    "`version` (the unit's) must be the one last read."
)
class BusinessUnitCustomFieldsUpdateInput:
    business_unit_id: relay.GlobalID = strawberry.field(description=UNIT_ID)
    version: int = strawberry.field(description=VERSION_GIVEN)
    labels: list[CustomFieldLabelInput] = strawberry.field(description="The labels to change.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Feature switches; an omitted one is left as it is.")
class BusinessUnitFeaturesInput:
    omnichannel_session_handling: bool | None = strawberry.field(default=None, description=OSH)
    granular_osh: bool | None = strawberry.field(default=None, description=GRANULAR_OSH)
    wfo: bool | None = strawberry.field(default=None, description=WFO)
    wfm: bool | None = strawberry.field(default=None, description=WFM)
    max_release_preview_allowed: bool | None = strawberry.field(default=None, description=RELEASE_PREVIEW)
    crm_integration: bool | None = strawberry.field(default=None, description=CRM)

    def switches(self) -> dict[str, bool | None]:
        return {
            "omnichannel_session_handling": self.omnichannel_session_handling,
            "granular_osh": self.granular_osh,
            "wfo_enabled": self.wfo,
            "wfm_enabled": self.wfm,
            "max_release_preview_allowed": self.max_release_preview_allowed,
            "crm_integration_enabled": self.crm_integration,
        }


@strawberry.input(description="Change the switches given; `version` (the unit's) must be the one last read.")
class BusinessUnitSettingsUpdateInput:
    business_unit_id: relay.GlobalID = strawberry.field(description=UNIT_ID)
    version: int = strawberry.field(description=VERSION_GIVEN)
    features: BusinessUnitFeaturesInput = strawberry.field(description="The switches to change.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="A new business unit.")
class BusinessUnitCreateInput:
    name: str = strawberry.field(description="The unit's name, unique among units.")
    features: BusinessUnitFeaturesInput | None = strawberry.field(
        default=None, description="Its feature switches; all off when omitted."
    )
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description=UPDATE)
class BusinessUnitUpdateInput:
    id: relay.GlobalID = strawberry.field(description="The unit's global ID.")
    version: int = strawberry.field(description=VERSION_GIVEN)
    name: str = strawberry.field(description="The unit's new name, unique among units.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.type(description=payload_description("business unit"))
class BusinessUnitPayload:
    business_unit: BusinessUnit | None = strawberry.field(description=RESULT)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()
