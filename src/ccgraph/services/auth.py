"""Sign-in and sign-out, and turning a bearer token into a Principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph import metrics
from ccgraph.auth import access_keys, totp
from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.auth.tokens import new_token, token_hash
from ccgraph.config import Settings
from ccgraph.db.base import utcnow
from ccgraph.db.engine import begin_write
from ccgraph.db.models import AccessKey, LoginAttempt, SecurityProfile, Session, User, user_security_profiles
from ccgraph.services import authority
from ccgraph.services.errors import UserError

# Said for an unknown username and a wrong password alike: it never tells which.
INVALID_CREDENTIALS = UserError(None, "INVALID_CREDENTIALS", "The username or password is incorrect.")
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class Unauthenticated(Exception):
    """Credentials were sent and are not good: the request is refused as a whole (401), never
    answered as if anonymous. `reason` says why (`TOKEN_EXPIRED`, `ACCESS_KEY_INVALID`...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class LoginResult:
    token: str | None = None
    expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = field(default_factory=list)


def normalize_username(username: str) -> str:
    return username.strip().lower()


LOCKED = UserError(None, "LOCKED_OUT", "Too many failed sign-ins. Try again later.")


async def _one_at_a_time(session: AsyncSession, username: str) -> None:
    """Sign-ins for one username run one after another, across workers: the failure count
    and a TOTP code's single use are read and written by one at a time. On SQLite the write
    transaction (BEGIN IMMEDIATE) already is; on PostgreSQL a transaction-scoped advisory
    lock on the username does it."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": username})


async def _locked_out(session: AsyncSession, settings: Settings, username: str) -> bool:
    """Locked when `lockout_threshold` failures (since the last success) fall within
    `lockout_window_seconds` of the latest one, and that one is less than a window ago.
    Nothing is recorded while locked, so the lock lasts one window from the last failure."""
    window = timedelta(seconds=settings.lockout_window_seconds)
    now = utcnow()
    rows = (
        await session.execute(
            select(LoginAttempt.attempted_at, LoginAttempt.succeeded)
            .where(LoginAttempt.username == username, LoginAttempt.attempted_at > now - 2 * window)
            .order_by(LoginAttempt.attempted_at.desc())
        )
    ).all()
    failures = []
    for attempted_at, succeeded in rows:
        if succeeded:
            break
        failures.append(attempted_at)
    if len(failures) < settings.lockout_threshold or now - failures[0] >= window:
        return False
    latest = failures[0]
    return sum(1 for at in failures if latest - at < window) >= settings.lockout_threshold


async def login(
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    box: SecretBox,
    *,
    username: str,
    password: str,
    otp: str | None = None,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> LoginResult:
    await begin_write(session)
    name = normalize_username(username)[:150]
    await _one_at_a_time(session, name)
    if await _locked_out(session, settings, name):
        await session.rollback()
        metrics.sign_in_locked_out()
        return LoginResult(errors=[LOCKED])

    async def refuse(error: UserError) -> LoginResult:
        await _failed(session, name, ip_address, error)
        return LoginResult(errors=[error])

    user = (await session.execute(select(User).where(User.username == name))).scalar_one_or_none()
    checked = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not checked.ok:
        return await refuse(INVALID_CREDENTIALS)
    if not user.enabled:
        return await refuse(UserError(None, "USER_DISABLED", "This user is disabled."))
    if user.mfa_enabled:
        if not otp:
            await session.rollback()
            return LoginResult(
                errors=[UserError(["otp"], "OTP_REQUIRED", "Enter the code from your authenticator.")]
            )
        secret = box.open(user.mfa_secret_encrypted or "")
        step = totp.matching_step(secret, otp, user.mfa_last_step) if secret else None
        if step is None:
            return await refuse(
                UserError(["otp"], "INVALID_OTP", "The code is wrong, expired or already used.")
            )
        user.mfa_last_step = step
    if checked.needs_rehash:
        user.password_hash = await passwords.hash(password)
    session.add(LoginAttempt(username=name, succeeded=True, ip_address=ip_address))
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


async def step_up(
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    principal: Principal,
    password: str | None,
    *,
    field: str = "currentPassword",
    ip_address: str | None = None,
) -> UserError | None:
    """Re-authentication before a credential change (a new password, an MFA enrollment): the
    signed-in user's current password. A wrong one counts toward the sign-in lockout like a
    failed sign-in, so a stolen session cannot guess it; while locked out it is refused."""
    await begin_write(session)
    name = principal.username
    await _one_at_a_time(session, name)
    if await _locked_out(session, settings, name):
        await session.rollback()
        metrics.sign_in_locked_out()
        return LOCKED
    user = await session.get(User, principal.user_id)
    if user is not None and password and (await passwords.verify(user.password_hash, password)).ok:
        await session.rollback()
        return None
    error = UserError([field], "INVALID_CREDENTIALS", "The current password is wrong.")
    await _failed(session, name, ip_address, error)
    return error


async def _failed(session: AsyncSession, name: str, ip_address: str | None, error: UserError) -> None:
    """A failure that counts toward the lockout: kept (and committed), and counted."""
    session.add(LoginAttempt(username=name, succeeded=False, ip_address=ip_address))
    await session.commit()
    metrics.sign_in_failed(error.code)


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.session_id is None:
        return
    await begin_write(session)
    await session.execute(
        update(Session).where(Session.id == principal.session_id).values(revoked_at=utcnow())
    )
    await session.commit()


async def _principal(
    session: AsyncSession, credential: Any, last_used: Any, *conditions: Any, via_key: bool = False
) -> Principal | None:
    """The principal behind a credential row (a session or an access key) that meets
    `conditions`, with its user enabled. One statement; it runs on every request. The
    credential's last-use time is written at most once a minute."""
    now = utcnow()
    rows = (
        await session.execute(
            select(
                credential.id,
                last_used,
                User.id,
                User.username,
                User.business_unit_id,
                User.is_master_admin,
                User.must_change_password,
                SecurityProfile.permissions,
            )
            .join(User, User.id == credential.user_id)
            .outerjoin(user_security_profiles, user_security_profiles.c.user_id == User.id)
            .outerjoin(SecurityProfile, SecurityProfile.id == user_security_profiles.c.security_profile_id)
            .where(*conditions, User.enabled.is_(True))
        )
    ).all()
    if not rows:
        await session.rollback()
        return None
    credential_id, seen, user_id, username, business_unit_id, master, must_change, _ = rows[0]
    permissions = authority.permissions_of(granted for *_, granted in rows)
    if seen is None or now - seen > LAST_SEEN_RESOLUTION:
        try:  # best effort: a busy database must not refuse the request for a timestamp
            await begin_write(session)
            await session.execute(
                update(credential).where(credential.id == credential_id).values({last_used.key: now})
            )
            await session.commit()
        except OperationalError:
            await session.rollback()
    else:
        await session.rollback()
    return Principal(
        user_id=user_id,
        username=username,
        business_unit_id=business_unit_id,
        permissions=permissions,
        session_id=None if via_key else credential_id,
        access_key_id=credential_id if via_key else None,
        is_master_admin=master,
        must_change_password=must_change and not via_key,
    )


async def principal_for_token(session: AsyncSession, token: str) -> Principal | None:
    """A bearer token's caller, or None when it is unknown, expired, revoked, or its user is
    disabled or deleted."""
    return await _principal(
        session,
        Session,
        Session.last_seen_at,
        Session.token_hash == token_hash(token),
        Session.revoked_at.is_(None),
        Session.expires_at > utcnow(),
    )


async def principal_for_access_key(session: AsyncSession, key_id: str, secret: str) -> Principal | None:
    """A partner integration's caller (`Authorization: AccessKey <id>:<secret>`): the key's user,
    with their permissions; None when the key is unknown, inactive or its user disabled."""
    return await _principal(
        session,
        AccessKey,
        AccessKey.last_used_at,
        AccessKey.key_id == key_id,
        AccessKey.secret_hash == access_keys.secret_hash(secret),
        AccessKey.active.is_(True),
        via_key=True,
    )


async def principal_for_user(session: AsyncSession, username: str | None = None) -> Principal | None:
    """A signed-in-like principal for the command line: the named user, or the master
    administrator. Their permissions are their security profiles', as over the API."""
    stmt = (
        select(User).where(User.username == normalize_username(username))
        if username
        else (select(User).where(User.is_master_admin).order_by(User.id))
    )
    user = (await session.execute(stmt)).scalars().first()
    if user is None or not user.enabled:
        return None
    granted = (
        (
            await session.execute(
                select(SecurityProfile.permissions)
                .join(
                    user_security_profiles, user_security_profiles.c.security_profile_id == SecurityProfile.id
                )
                .where(user_security_profiles.c.user_id == user.id)
            )
        )
        .scalars()
        .all()
    )
    permissions = authority.permissions_of(granted)
    principal = Principal(
        user.id, user.username, user.business_unit_id, permissions, is_master_admin=user.is_master_admin
    )
    await session.rollback()
    return principal
