"""Sign-in and sign-out, and turning a bearer token into a Principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.tokens import new_token, token_hash
from ccgraph.config import Settings
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models import SecurityProfile, Session, User, user_security_profiles
from ccgraph.enums import Permission
from ccgraph.services.errors import UserError

# Said for an unknown username and a wrong password alike: it never tells which.
INVALID_CREDENTIALS = UserError(None, "INVALID_CREDENTIALS", "The username or password is incorrect.")
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(slots=True)
class LoginResult:
    token: str | None = None
    expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = field(default_factory=list)


def normalize_username(username: str) -> str:
    return username.strip().lower()


async def login(
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    *,
    username: str,
    password: str,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> LoginResult:
    await begin_write(session)
    user = (
        await session.execute(select(User).where(User.username == normalize_username(username)))
    ).scalar_one_or_none()
    checked = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not checked.ok:
        return LoginResult(errors=[INVALID_CREDENTIALS])
    if not user.enabled:
        return LoginResult(errors=[UserError(None, "USER_DISABLED", "This user is disabled.")])
    if checked.needs_rehash:
        user.password_hash = await passwords.hash(password)
    token = new_token()
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.session_ttl_seconds)
    session.add(
        Session(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            user_agent=(user_agent or "")[:300] or None,
            ip_address=ip_address,
        )
    )
    await session.commit()
    return LoginResult(token=token, expires_at=expires_at, user=user)


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.session_id is None:
        return
    await begin_write(session)
    await session.execute(
        update(Session).where(Session.id == principal.session_id).values(revoked_at=utcnow())
    )
    await session.commit()


async def principal_for_token(session: AsyncSession, token: str) -> Principal | None:
    """The caller behind a bearer token, or None when it is unknown, expired, revoked, or its
    user is disabled or deleted. One statement; it runs on every request."""
    now = utcnow()
    rows = (
        await session.execute(
            select(
                Session.id,
                Session.last_seen_at,
                User.id,
                User.username,
                User.business_unit_id,
                User.is_master_admin,
                SecurityProfile.permissions,
            )
            .join(User, User.id == Session.user_id)
            .outerjoin(user_security_profiles, user_security_profiles.c.user_id == User.id)
            .outerjoin(SecurityProfile, SecurityProfile.id == user_security_profiles.c.security_profile_id)
            .where(
                Session.token_hash == token_hash(token),
                Session.revoked_at.is_(None),
                Session.expires_at > now,
                User.enabled.is_(True),
            )
        )
    ).all()
    if not rows:
        return None
    session_id, last_seen, user_id, username, business_unit_id, master, _ = rows[0]
    permissions = frozenset(
        Permission(p) for *_, granted in rows for p in (granted or ()) if p in Permission.__members__
    )
    if now - last_seen > LAST_SEEN_RESOLUTION:
        await begin_write(session)
        await session.execute(update(Session).where(Session.id == session_id).values(last_seen_at=now))
        await session.commit()
    else:
        await session.rollback()
    return Principal(
        user_id=user_id,
        username=username,
        business_unit_id=business_unit_id,
        permissions=permissions,
        session_id=session_id,
        is_master_admin=master,
    )
