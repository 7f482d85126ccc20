"""Who is calling: the signed-in user and what their security profiles allow."""

from __future__ import annotations

from dataclasses import dataclass

from ccgraph.enums import Permission


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    business_unit_id: int
    permissions: frozenset[Permission]
    session_id: int | None = None
    access_key_id: int | None = None
    is_master_admin: bool = False
    must_change_password: bool = False

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def missing(self, permissions: tuple[Permission, ...]) -> list[Permission]:
        return [p for p in permissions if p not in self.permissions]

    @property
    def sees_all_business_units(self) -> bool:
        return Permission.EXTERNAL_BUSINESS_UNIT_VIEW in self.permissions
