"""Business units: create, rename, feature switches, custom field labels; the root fields of
this domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import shaped, write
from ccgraph.schema import business_units as bu
from ccgraph.schema.node import decode
from ccgraph.schema.permissions import requires
from ccgraph.services import business_units as svc

payload = shaped(bu.BusinessUnit, "business_unit", bu.BusinessUnitPayload)


async def create(info: Info, input: bu.BusinessUnitCreateInput) -> bu.BusinessUnitPayload:
    switches = input.features.switches() if input.features else {}
    return await write(
        info,
        [],
        lambda session, ctx: svc.create_unit(
            session, ctx.actor, input.name, switches, validate_only=input.validate_only
        ),
        payload,
    )


async def update(info: Info, input: bu.BusinessUnitUpdateInput) -> bu.BusinessUnitPayload:
    errors: list = []
    unit = decode(["id"], input.id, "BusinessUnit", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.rename_unit(
            session, ctx.actor, unit, input.version, input.name, validate_only=input.validate_only
        ),
        payload,
    )


async def settings_update(info: Info, input: bu.BusinessUnitSettingsUpdateInput) -> bu.BusinessUnitPayload:
    errors: list = []
    unit = decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.update_settings(
            session,
            ctx.actor,
            unit,
            input.version,
            input.features.switches(),
            validate_only=input.validate_only,
        ),
        payload,
    )


async def custom_fields_update(
    info: Info, input: bu.BusinessUnitCustomFieldsUpdateInput
) -> bu.BusinessUnitPayload:
    errors: list = []
    unit = decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
    return await write(
        info,
        errors,
        lambda session, ctx: svc.update_custom_fields(
            session,
            ctx.actor,
            unit,
            input.version,
            [(x.slot, x.label) for x in input.labels],
            validate_only=input.validate_only,
        ),
        payload,
    )


@strawberry.type
class Mutation:
    business_unit_create = strawberry.mutation(
        resolver=create,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Create a business unit.",
    )
    business_unit_update = strawberry.mutation(
        resolver=update,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Rename a business unit.",
    )
    business_unit_settings_update = strawberry.mutation(
        resolver=settings_update,
        extensions=[requires(P.BUSINESS_UNITS_EDIT)],
        description="Turn features on or off; user fields of a feature that is off are refused on write "
        "and read as null (their values are kept).",
    )
    business_unit_custom_fields_update = strawberry.mutation(
        resolver=custom_fields_update,
        extensions=[
            requires(P.EXTERNAL_BUSINESS_UNIT_VIEW, P.BUSINESS_UNIT_CUSTOM_FIELDS_EDIT, P.USERS_EDIT)
        ],
        description="Rename the five custom user fields (NICE 'Edit the Custom User Fields').",
    )
