"""Sign-in and sign-out, and turning a bearer token into a Principal."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
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
from ccgraph.db.records import fetch_records
from ccgraph.enums import Permission
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


# Why credentials were refused: the `reason` of the UNAUTHENTICATED error, and what to do.
REFUSALS = {
    "TOKEN_INVALID": "The bearer token is not known; sign in again.",
    "TOKEN_EXPIRED": "The session or token has expired; sign in again (or request a new token).",
    "TOKEN_REVOKED": "The session or token was signed out or revoked; sign in again.",
    "ACCESS_KEY_INVALID": (
        "The access key is unknown, malformed or its secret is wrong; "
        "send 'AccessKey <keyId>:<secret>' (or 'Bearer <keyId>:<secret>')."
    ),
    "ACCESS_KEY_EXPIRED": "The access key has expired; use its successor (accessKeyRotate).",
    "ACCESS_KEY_DEACTIVATED": "The access key is deactivated; reactivate it or use another.",
    "USER_DISABLED": "The user these credentials belong to is disabled.",
    "AUTHORIZATION_UNSUPPORTED": (
        "Unsupported Authorization scheme; send 'Bearer <token>' or 'AccessKey <keyId>:<secret>'."
    ),
}


def refused(reason: str) -> Unauthenticated:
    return Unauthenticated(reason, REFUSALS[reason])


_OWNER = (
    User.id.label("user_id"),
    User.username,
    User.business_unit_id,
    User.is_master_admin,
    User.must_change_password,
    User.enabled,
    SecurityProfile.permissions,
)


async def _refuse_first(
    session: AsyncSession, found: tuple[bool, str], *checks: Callable[[], tuple[bool, str]]
) -> None:
    """The first reason that applies, in order (each check may assume the ones before passed)."""
    failed, reason = found
    for check in checks:
        if failed:
            break
        failed, reason = check()
    if failed:
        await session.rollback()
        raise refused(reason)


def _past(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def _caller(rows: Sequence[Any], *scopes: list[str] | None, **credential: Any) -> Principal:
    """The principal of a credential's rows (one per security profile of its user)."""
    first = rows[0]
    held = authority.permissions_of(row.permissions for row in rows)
    return Principal(
        user_id=first.user_id,
        username=first.username,
        business_unit_id=first.business_unit_id,
        permissions=_narrowed(held, *scopes),
        is_master_admin=first.is_master_admin,
        **credential,
    )


def _with_owner(stmt: Any, user_id: Any) -> Any:
    """The credential's user and each of their security profiles' permissions (a row each)."""
    return (
        stmt.join(User, User.id == user_id)
        .outerjoin(user_security_profiles, user_security_profiles.c.user_id == User.id)
        .outerjoin(SecurityProfile, SecurityProfile.id == user_security_profiles.c.security_profile_id)
    )


def _narrowed(held: frozenset[Permission], *scopes: list[str] | None) -> frozenset[Permission]:
    """What a scoped credential may do: its user's permissions, within every scope it carries
    (None: not narrowed). Recomputed at each request, so it follows the user's own."""
    for scope in scopes:
        if scope is not None:
            held = held & authority.permissions_of([scope])
    return held


async def _touch(
    session: AsyncSession, seen: datetime | None, *writes: tuple[Any, int, dict[str, Any]]
) -> None:
    """Last use, written at most once a minute; best effort: a busy database must not refuse
    the request for a timestamp."""
    if seen is not None and utcnow() - seen <= LAST_SEEN_RESOLUTION:
        await session.rollback()
        return
    try:
        await begin_write(session)
        for table, pk, values in writes:
            await session.execute(update(table).where(table.id == pk).values(values))
        await session.commit()
    except OperationalError:
        await session.rollback()


async def authenticate(
    session: AsyncSession, authorization: str, *, client_address: str | None = None
) -> Principal | None:
    """The caller behind an `Authorization` header: None when there is none (anonymous);
    `Unauthenticated` with a reason when there is one and it is not good. People send
    `Bearer <token>`; partners `AccessKey <keyId>:<secret>`, or `Bearer <keyId>:<secret>` for
    clients that only send bearer tokens (identity providers' SCIM), or `Bearer <token>` with a
    token from `/oauth/token`. One statement on every request."""
    if not authorization.strip():
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "accesskey" or (scheme == "bearer" and access_keys.looks_like_key(credentials)):
        key_id, _, secret = credentials.partition(":")
        return await principal_for_access_key(session, key_id, secret, client_address=client_address)
    if scheme == "bearer":
        return await principal_for_token(session, credentials)
    raise refused("AUTHORIZATION_UNSUPPORTED")


# A bearer token's session, its access key (a token issued to one) and its owner: read at
# every request, so built once, the token's hash bound at execution.
_TOKEN_OWNER = _with_owner(
    select(
        Session.id.label("pk"),
        Session.last_seen_at,
        Session.revoked_at,
        Session.expires_at,
        Session.scopes,
        Session.access_key_id.label("key_pk"),
        AccessKey.active.label("key_active"),
        AccessKey.expires_at.label("key_expires_at"),
        AccessKey.scopes.label("key_scopes"),
        *_OWNER,
    )
    .select_from(Session)
    .outerjoin(AccessKey, AccessKey.id == Session.access_key_id),
    Session.user_id,
).where(Session.token_hash == bindparam("token_hash"))


async def principal_for_token(session: AsyncSession, token: str) -> Principal:
    """A bearer token's caller: a signed-in session, or a token issued to an access key."""
    now = utcnow()
    rows = await fetch_records(session, _TOKEN_OWNER, {"token_hash": token_hash(token)})
    first: Any = rows[0] if rows else None
    await _refuse_first(
        session,
        (first is None or not token or "\x00" in token, "TOKEN_INVALID"),
        lambda: (
            first.revoked_at is not None or (first.key_pk is not None and not first.key_active),
            "TOKEN_REVOKED",
        ),
        lambda: (first.expires_at <= now or _past(first.key_expires_at, now), "TOKEN_EXPIRED"),
        lambda: (not first.enabled, "USER_DISABLED"),
    )
    writes: list[tuple[Any, int, dict[str, Any]]] = [(Session, first.pk, {"last_seen_at": now})]
    if first.key_pk is not None:
        writes.append((AccessKey, first.key_pk, {"last_used_at": now}))
    await _touch(session, first.last_seen_at, *writes)
    return _caller(
        rows,
        first.key_scopes,
        first.scopes,
        session_id=first.pk,
        access_key_id=first.key_pk,
        must_change_password=first.must_change_password and first.key_pk is None,
    )


async def principal_for_access_key(
    session: AsyncSession, key_id: str, secret: str, *, client_address: str | None = None
) -> Principal:
    """A partner integration's caller: the key's user, with their permissions within the key's
    scopes. The secret is compared in constant time."""
    now = utcnow()
    rows = (
        (
            await session.execute(
                _with_owner(
                    select(
                        AccessKey.id,
                        AccessKey.last_used_at,
                        AccessKey.secret_hash,
                        AccessKey.active,
                        AccessKey.expires_at,
                        AccessKey.scopes,
                        *_OWNER,
                    ),
                    AccessKey.user_id,
                ).where(AccessKey.key_id == key_id)
            )
        ).all()
        if access_keys.well_formed(key_id, secret)
        else []
    )
    first: Any = rows[0] if rows else None
    await _refuse_first(
        session,
        (
            first is None or not hmac.compare_digest(first.secret_hash, access_keys.secret_hash(secret)),
            "ACCESS_KEY_INVALID",
        ),
        lambda: (not first.active, "ACCESS_KEY_DEACTIVATED"),
        lambda: (_past(first.expires_at, now), "ACCESS_KEY_EXPIRED"),
        lambda: (not first.enabled, "USER_DISABLED"),
    )
    last_from = (client_address or "")[:45] or None
    await _touch(
        session, first.last_used_at, (AccessKey, first.id, {"last_used_at": now, "last_used_from": last_from})
    )
    return _caller(rows, first.scopes, access_key_id=first.id)


async def keep_client_token(
    session: AsyncSession,
    principal: Principal,
    token: str,
    *,
    scopes: list[str],
    ttl_seconds: int,
    user_agent: str | None,
    ip_address: str | None,
) -> None:
    """A token issued to an access key (OAuth client credentials), kept as a session of the
    key's user: listed with their sessions, revoked with them, and ended with the key."""
    await begin_write(session)
    now = utcnow()
    session.add(
        Session(
            user_id=principal.user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            user_agent=(user_agent or "")[:300] or None,
            ip_address=ip_address,
            access_key_id=principal.access_key_id,
            scopes=scopes,
        )
    )
    await session.commit()


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
