"""Business units: their feature switches, custom field labels and password policy, and the inputs
that change them."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.catalog.inputs import UPDATE
from ccgraph.schema.catalog.inputs import VERSION as VERSION_GIVEN
from ccgraph.schema.catalog.types import VERSION
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import node_type
from ccgraph.schema.payloads import FieldChange, changes_field


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
    version: int = strawberry.field(description=VERSION)

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
        )


@strawberry.input
class CustomFieldLabelInput:
    slot: int = strawberry.field(description="1 to 5.")
    label: str = strawberry.field(description="Trimmed; 1 to 50 characters; unique in the unit.")


@strawberry.input(
    description="Rename custom fields; every stored value stays with its field. "
    "`version` (the unit's) must be the one last read."
)
class BusinessUnitCustomFieldsUpdateInput:
    business_unit_id: relay.GlobalID
    version: int = strawberry.field(description=VERSION_GIVEN)
    labels: list[CustomFieldLabelInput]
    validate_only: bool = False


@strawberry.input(description="Feature switches; an omitted one is left as it is.")
class BusinessUnitFeaturesInput:
    omnichannel_session_handling: bool | None = None
    granular_osh: bool | None = None
    wfo: bool | None = None
    wfm: bool | None = None
    max_release_preview_allowed: bool | None = None
    crm_integration: bool | None = None

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
    business_unit_id: relay.GlobalID
    version: int = strawberry.field(description=VERSION_GIVEN)
    features: BusinessUnitFeaturesInput
    validate_only: bool = False


@strawberry.input
class BusinessUnitCreateInput:
    name: str
    features: BusinessUnitFeaturesInput | None = None
    validate_only: bool = False


@strawberry.input(description=UPDATE)
class BusinessUnitUpdateInput:
    id: relay.GlobalID
    version: int = strawberry.field(description=VERSION_GIVEN)
    name: str
    validate_only: bool = False


@strawberry.type
class BusinessUnitPayload:
    business_unit: BusinessUnit | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()
