"""Tenancy: nobody sees another business unit's data without EXTERNAL_BUSINESS_UNIT_VIEW."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from ccgraph.auth.principal import Principal
from ccgraph.db.search import Column


def visible(principal: Principal, business_unit_column: Column) -> ColumnElement[bool]:
    """The WHERE clause that limits a query to what the principal may see."""
    if principal.sees_all_business_units:
        return true()
    return business_unit_column == principal.business_unit_id


def can_see(principal: Principal, business_unit_id: int) -> bool:
    return principal.sees_all_business_units or business_unit_id == principal.business_unit_id
