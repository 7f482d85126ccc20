"""Credentials (NICE 'Reset a User's Password', 'Configure a User's Access Key', 'Reset a
User's MFA Secret'): passwords and their policy, TOTP MFA, access keys, sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth import totp
from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from ccgraph.services import audit, auth, authority, mail, password_policy
from ccgraph.services.errors import UserError
from ccgraph.services.users.lifecycle import revoke_credentials
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write


async def _policy(session: AsyncSession, user_id: int) -> password_policy.Policy:
    profiles = (
        (
            await session.execute(
                select(m.SecurityProfile)
                .join(
                    m.user_security_profiles,
                    m.user_security_profiles.c.security_profile_id == m.SecurityProfile.id,
                )
                .where(m.user_security_profiles.c.user_id == user_id)
            )
        )
        .scalars()
        .all()
    )
    return password_policy.policy_for(profiles)


def _check_new_password(
    policy: password_policy.Policy,
    password: str | None,
    confirmation: str | None,
    field: str = "password",
    confirmation_field: str = "passwordConfirmation",
) -> str:
    """The new password, once it is given, confirmed and meets the policy."""
    if not password:
        raise Rejected([UserError([field], "REQUIRED", f"{field} is required")])
    errors = []
    if password != confirmation:
        errors.append(UserError([confirmation_field], "PASSWORD_MISMATCH", "The passwords do not match."))
    errors += [
        UserError([field], "PASSWORD_POLICY", f"{field} {p}")
        for p in password_policy.problems(password, policy)
    ]
    if errors:
        raise Rejected(errors)
    return password


async def _viewer(session: AsyncSession, actor: Actor) -> m.User:
    """The signed-in user, read afresh; one deleted since the request signed in is NOT_FOUND."""
    user = await session.get(m.User, actor.principal.user_id, populate_existing=True)
    if user is None:
        raise Rejected([UserError(None, "NOT_FOUND", "The signed-in user no longer exists.")])
    return user


async def reset_password(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    user_id: int,
    password: str | None,
    confirmation: str | None,
    *,
    validate_only: bool = False,
) -> Outcome[m.User]:
    """Under a "generate random passwords" profile the inputs must be absent and a random one
    is mailed; otherwise both are required, must match and meet the policy. Either way every
    session ends and the user must change the password at the next sign-in."""
    return await run_write(
        session,
        lambda: reset_user_password(session, passwords, actor, user_id, password, confirmation),
        validate_only=validate_only,
    )


async def reset_user_password(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    user_id: int,
    password: str | None,
    confirmation: str | None,
) -> m.User:
    """`reset_password` inside the caller's write transaction: a refusal raises Rejected."""
    user = await authority.act_on(session, actor, user_id, "userId", master_only="password")
    policy = await _policy(session, user.id)
    if policy.generate_random:
        if password or confirmation:
            raise Rejected(
                [
                    UserError(
                        ["password"],
                        "PASSWORD_NOT_ALLOWED",
                        "The security profile generates random passwords: leave password empty.",
                    )
                ]
            )
        chosen = password_policy.generate(policy)
        mail.enqueue(session, *mail.password_mail(user, chosen, new_account=False))
    else:
        chosen = _check_new_password(policy, password, confirmation)
    user.password_hash = await passwords.hash(chosen)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.updated_at = utcnow()
    ended = await revoke_credentials(session, user.id, keep_access_keys=True)
    audit.record(
        session,
        actor,
        "user.passwordReset",
        user,
        business_unit_id=user.business_unit_id,
        changes={
            "passwordGenerated": {"before": None, "after": policy.generate_random},
            "sessionsRevoked": {"before": None, "after": ended},
        },
    )
    return user


async def change_own_password(
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    actor: Actor,
    current: str,
    new: str,
    confirmation: str,
    *,
    ip_address: str | None = None,
) -> Outcome[m.User]:
    """The viewer sets a new password (required after a reset); other sessions end."""
    refused = await auth.step_up(
        session, passwords, settings, actor.principal, current, ip_address=ip_address
    )
    if refused is not None:
        return Outcome(None, [refused])

    async def work() -> m.User:
        user = await _viewer(session, actor)
        _check_new_password(
            await _policy(session, user.id), new, confirmation, "newPassword", "newPasswordConfirmation"
        )
        if new == current:
            raise Rejected(
                [UserError(["newPassword"], "PASSWORD_REUSED", "Choose a password you have not just used.")]
            )
        user.password_hash = await passwords.hash(new)
        user.password_changed_at = utcnow()
        user.must_change_password = False
        user.updated_at = utcnow()
        await session.execute(
            update(m.Session)
            .where(
                m.Session.user_id == user.id,
                m.Session.id != actor.principal.session_id,
                m.Session.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        audit.record(session, actor, "viewer.passwordChange", user, business_unit_id=user.business_unit_id)
        return user

    return await run_write(session, work)


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    provisioning_uri: str


async def mfa_enroll(
    session: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    box: SecretBox,
    actor: Actor,
    current: str,
    *,
    ip_address: str | None = None,
) -> Outcome[Enrollment]:
    """Start TOTP enrollment; it needs the current password, as a new password does."""
    refused = await auth.step_up(
        session, passwords, settings, actor.principal, current, ip_address=ip_address
    )
    if refused is not None:
        return Outcome(None, [refused])

    async def work() -> Enrollment:
        user = await _viewer(session, actor)
        if user.is_master_admin:
            raise Rejected(
                [
                    UserError(
                        None,
                        "MASTER_ADMINISTRATOR",
                        "MFA is not enabled for the master administrator: if the device or "
                        "secret were lost, nobody could reset it.",
                    )
                ]
            )
        if user.mfa_enabled:
            raise Rejected(
                [UserError(None, "MFA_ACTIVE", "MFA is already active; have it cleared to enroll again.")]
            )
        secret = totp.new_secret()
        user.mfa_secret_encrypted = box.seal(secret)
        user.mfa_last_step = None
        audit.record(session, actor, "viewer.mfaEnroll", user, business_unit_id=user.business_unit_id)
        return Enrollment(secret, totp.provisioning_uri(secret, user.username))

    return await run_write(session, work)


async def mfa_confirm(session: AsyncSession, box: SecretBox, actor: Actor, code: str) -> Outcome[m.User]:
    async def work() -> m.User:
        user = await _viewer(session, actor)
        secret = box.open(user.mfa_secret_encrypted) if user.mfa_secret_encrypted else None
        if secret is None or user.mfa_enabled:
            raise Rejected([UserError(None, "NOT_ENROLLING", "Start with viewerMfaEnroll.")])
        step = totp.matching_step(secret, code, user.mfa_last_step)
        if step is None:
            raise Rejected([UserError(["code"], "INVALID_OTP", "The code is wrong or has expired.")])
        user.mfa_enabled = True
        user.mfa_last_step = step
        user.updated_at = utcnow()
        audit.record(session, actor, "viewer.mfaConfirm", user, business_unit_id=user.business_unit_id)
        return user

    return await run_write(session, work)


async def mfa_clear(
    session: AsyncSession, actor: Actor, user_id: int, *, validate_only: bool = False
) -> Outcome[m.User]:
    async def work() -> m.User:
        user = await authority.act_on(session, actor, user_id, "userId", master_only="MFA")
        was = user.mfa_enabled
        user.mfa_secret_encrypted = None
        user.mfa_enabled = False
        user.mfa_last_step = None
        user.updated_at = utcnow()
        audit.record(
            session,
            actor,
            "user.mfaClear",
            user,
            business_unit_id=user.business_unit_id,
            changes={"mfaEnabled": {"before": was, "after": False}},
        )
        return user

    return await run_write(session, work, validate_only=validate_only)


def missing(what: str) -> Rejected:
    return Rejected([UserError(["id"], "NOT_FOUND", f"No {what} with this ID.")])


async def owner_of(
    session: AsyncSession, actor: Actor, row: m.AccessKey | m.Session, what: str, **rule: str
) -> m.User:
    """The user an access key or session belongs to, when the actor may act on them; a key or
    session of a user the actor cannot see reads as not found."""
    try:
        return await authority.act_on(session, actor, row.user_id, **rule)
    except Rejected as refused:
        if any(e.code == "NOT_FOUND" for e in refused.errors):
            raise missing(what) from None
        raise


def may_manage_sessions_of(principal: Principal, user_id: int) -> bool:
    return principal.user_id == user_id or principal.has(Permission.USERS_EDIT)


async def session_revoke(session: AsyncSession, actor: Actor, session_pk: int) -> Outcome[m.Session]:
    """End one session: one's own, or anyone's with USERS_EDIT."""

    async def work() -> m.Session:
        row = await session.get(m.Session, session_pk, populate_existing=True)
        if row is None or not may_manage_sessions_of(actor.principal, row.user_id):
            raise missing("session")
        user = await owner_of(session, actor, row, "session")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        audit.record(session, actor, "session.revoke", user, business_unit_id=user.business_unit_id)
        return row

    return await run_write(session, work)


async def sessions_revoke_all(
    session: AsyncSession, actor: Actor, user_id: int, *, validate_only: bool = False
) -> Outcome[int]:
    async def work() -> int:
        user = await authority.act_on(session, actor, user_id, "userId")
        ended = await revoke_credentials(session, user.id, keep_access_keys=True)
        audit.record(
            session,
            actor,
            "user.sessionsRevokeAll",
            user,
            business_unit_id=user.business_unit_id,
            changes={"sessionsRevoked": {"before": None, "after": ended}},
        )
        return ended

    return await run_write(session, work, validate_only=validate_only)
