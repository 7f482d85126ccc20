"""First start: the first business unit, its Administrator security profile, the base
presence statuses and the master administrator."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models import BusinessUnit, PresenceStatus, SecurityProfile, User
from ccgraph.enums import BaseStatus, Permission
from ccgraph.services.auth import normalize_username

DEFAULT_BUSINESS_UNIT = "Default"
ADMINISTRATOR_PROFILE = "Administrator"
BASE_PRESENCES = {
    "Available": BaseStatus.AVAILABLE,
    "Busy": BaseStatus.BUSY,
    "Do not disturb": BaseStatus.BUSY_DND,
    "Away": BaseStatus.AWAY,
    "Offline": BaseStatus.OFFLINE,
}


@dataclass(frozen=True, slots=True)
class InitResult:
    username: str
    password: str | None  # set only when this run created the administrator with a generated one
    created: bool


async def initialize(
    session: AsyncSession, passwords: Passwords, *, admin_username: str, admin_password: str | None
) -> InitResult:
    await begin_write(session)
    master = (await session.execute(select(User).where(User.is_master_admin))).scalars().first()
    if master is not None:
        username = master.username
        # A permission added since the last start is every Administrator profile's too.
        await session.execute(
            update(SecurityProfile)
            .where(SecurityProfile.is_administrator)
            .values(permissions=[p.value for p in Permission])
        )
        await session.commit()
        return InitResult(username, None, created=False)

    unit = (await session.execute(select(BusinessUnit).order_by(BusinessUnit.id))).scalars().first()
    if unit is None:
        unit = BusinessUnit(name=DEFAULT_BUSINESS_UNIT)
        session.add(unit)
        await session.flush()
    await ensure_base_presences(session, unit.id)
    profile = SecurityProfile(
        business_unit_id=unit.id,
        name=ADMINISTRATOR_PROFILE,
        description="Every permission, in every business unit.",
        permissions=[p.value for p in Permission],
        is_administrator=True,
    )
    session.add(profile)
    generated = admin_password is None
    password = admin_password or secrets.token_urlsafe(12)
    admin = User(
        business_unit_id=unit.id,
        username=normalize_username(admin_username),
        first_name="Master",
        last_name="Administrator",
        email=f"{normalize_username(admin_username)}@localhost",
        is_master_admin=True,
        password_hash=await passwords.hash(password),
        password_changed_at=utcnow(),
        must_change_password=generated,
        security_profiles=[profile],
    )
    session.add(admin)
    await session.commit()
    return InitResult(admin.username, password if generated else None, created=True)


async def ensure_base_presences(session: AsyncSession, business_unit_id: int) -> None:
    existing = set(
        (
            await session.execute(
                select(PresenceStatus.name).where(PresenceStatus.business_unit_id == business_unit_id)
            )
        ).scalars()
    )
    for name, base in BASE_PRESENCES.items():
        if name not in existing:
            session.add(
                PresenceStatus(
                    business_unit_id=business_unit_id, name=name, base_status=base, is_custom=False
                )
            )
    await session.flush()
