from __future__ import annotations

from typing import Any

from strawberry.types import Info

from ccgraph.schema import business_unit_inputs as bi
from ccgraph.schema.business_units import BusinessUnit
from ccgraph.schema.errors import UserError
from ccgraph.schema.user_inputs import decode
from ccgraph.services import business_units as svc


def _payload(outcome: Any, errors: list | None = None) -> bi.BusinessUnitPayload:
    row = outcome.value if outcome else None
    return bi.BusinessUnitPayload(
        business_unit=BusinessUnit.from_row(row) if row is not None else None,
        user_errors=UserError.many([*(errors or []), *(outcome.errors if outcome else [])]),
    )


async def custom_fields_update(
    info: Info, input: bi.BusinessUnitCustomFieldsUpdateInput
) -> bi.BusinessUnitPayload:
    errors: list = []
    unit = decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
    if errors:
        return _payload(None, errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.update_custom_fields(
            session,
            ctx.actor,
            unit,
            [(x.slot, x.label) for x in input.labels],
            validate_only=input.validate_only,
        )
    return _payload(outcome)


async def settings_update(info: Info, input: bi.BusinessUnitSettingsUpdateInput) -> bi.BusinessUnitPayload:
    errors: list = []
    unit = decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
    if errors:
        return _payload(None, errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.update_settings(
            session, ctx.actor, unit, input.features.switches(), validate_only=input.validate_only
        )
    return _payload(outcome)


async def create(info: Info, input: bi.BusinessUnitCreateInput) -> bi.BusinessUnitPayload:
    ctx = info.context
    switches = input.features.switches() if input.features else {}
    async with ctx.write() as session:
        outcome = await svc.create_unit(
            session, ctx.actor, input.name, switches, validate_only=input.validate_only
        )
    return _payload(outcome)


async def update(info: Info, input: bi.BusinessUnitUpdateInput) -> bi.BusinessUnitPayload:
    errors: list = []
    unit = decode(["id"], input.id, "BusinessUnit", errors)
    if errors:
        return _payload(None, errors)
    ctx = info.context
    async with ctx.write() as session:
        outcome = await svc.rename_unit(
            session, ctx.actor, unit, input.name, validate_only=input.validate_only
        )
    return _payload(outcome)
