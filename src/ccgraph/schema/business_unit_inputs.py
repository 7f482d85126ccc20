from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.schema.business_units import BusinessUnit
from ccgraph.schema.errors import UserError


@strawberry.input
class CustomFieldLabelInput:
    slot: int = strawberry.field(description="1 to 5.")
    label: str = strawberry.field(description="Trimmed; 1 to 50 characters; unique in the unit.")


@strawberry.input(description="Rename custom fields; every stored value stays with its field.")
class BusinessUnitCustomFieldsUpdateInput:
    business_unit_id: relay.GlobalID
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


@strawberry.input
class BusinessUnitSettingsUpdateInput:
    business_unit_id: relay.GlobalID
    features: BusinessUnitFeaturesInput
    validate_only: bool = False


@strawberry.input
class BusinessUnitCreateInput:
    name: str
    features: BusinessUnitFeaturesInput | None = None
    validate_only: bool = False


@strawberry.input
class BusinessUnitUpdateInput:
    id: relay.GlobalID
    name: str
    validate_only: bool = False


@strawberry.type
class BusinessUnitPayload:
    business_unit: BusinessUnit | None
    user_errors: list[UserError]
