"""First start: the first business unit, its Administrator security profile, the base
presence statuses and the master administrator; and the way back to the master administrator
when their password is lost (`ccgraph init --reset-admin-password`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models import BusinessUnit, PresenceStatus, SecurityProfile, User
from ccgraph.enums import BaseStatus, Permission
from ccgraph.services import audit
from ccgraph.services.auth import normalize_username
from ccgraph.services.users.lifecycle import revoke_credentials
from ccgraph.services.writes import Actor

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
    password = admin_password or one_time_password()
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


def one_time_password() -> str:
    """16 URL-safe characters (96 random bits): easy to copy from a terminal into a string."""
    return secrets.token_urlsafe(12)


RESET_BY = "ccgraph init --reset-admin-password"


@dataclass(frozen=True, slots=True)
class Reset:
    username: str
    password: str
    sessions_ended: int


async def reset_admin_password(session: AsyncSession, passwords: Passwords) -> Reset | None:
    """A new one-time password for the master administrator, whose password is lost: nobody
    else may reset it over the API, so shell access to the server is the trust. As after
    `userPasswordReset`, they must choose a new password at their next sign-in and every
    session of theirs ends (access keys stay); the audit trail records it, as done by the
    administrator themselves through the command line. None when there is none yet."""
    password = one_time_password()
    hashed = await passwords.hash(password)  # before the write transaction: it takes a while
    await begin_write(session)
    master = (
        (await session.execute(select(User).where(User.is_master_admin).order_by(User.id))).scalars().first()
    )
    if master is None:
        await session.rollback()
        return None
    master.password_hash = hashed
    master.password_changed_at = master.updated_at = utcnow()
    master.must_change_password = True
    ended = await revoke_credentials(session, master.id, keep_access_keys=True)
    themselves = Principal(
        master.id, master.username, master.business_unit_id, frozenset(), is_master_admin=True
    )
    audit.record(
        session,
        Actor(themselves),
        "user.passwordReset",
        master,
        business_unit_id=master.business_unit_id,
        changes={
            "passwordGenerated": {"before": None, "after": True},
            "sessionsRevoked": {"before": None, "after": ended},
            "resetBy": {"before": None, "after": RESET_BY},
        },
    )
    await session.commit()
    return Reset(master.username, password, ended)


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
