"""Access keys for partner integrations (NICE 'Configure a User's Access Key'), as a security
officer would accept them: named, scoped to some of their user's permissions, expiring,
rotated with an overlap, deactivated and reactivated. What a key may do is decided at each
request (`services.auth`): its user's permissions, within its scopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth import access_keys
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.base import utcnow
from ccgraph.enums import Permission
from ccgraph.services import audit, authority
from ccgraph.services.credentials import missing, owner_of
from ccgraph.services.errors import UserError
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

NAME_LENGTH = 100
DESCRIPTION_LENGTH = 500


@dataclass(frozen=True, slots=True)
class KeyTerms:
    """What a key is called and may do. On an update, a field left out (`KEEP`) is unchanged."""

    name: Any = ""
    description: Any = None
    scopes: Any = None  # permission names, or None: all of its user's
    expires_at: Any = None


KEEP: Any = object()


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    key: m.AccessKey
    secret: str


def _checked(actor: Actor, terms: KeyTerms, held: frozenset[Permission]) -> dict[str, Any]:
    """The terms as columns, or every problem with them, each naming its field. Scopes are
    granted as any permission is (never one the actor lacks), and are a subset of the user's
    permissions: a key never does more than its user."""
    errors: list[UserError] = []
    values: dict[str, Any] = {}
    if terms.name is not KEEP:
        name = (terms.name or "").strip()
        if len(name) > NAME_LENGTH:
            errors.append(UserError(["name"], "INVALID", f"At most {NAME_LENGTH} characters."))
        values["name"] = name
    if terms.description is not KEEP:
        description = (terms.description or "").strip() or None
        if description and len(description) > DESCRIPTION_LENGTH:
            errors.append(UserError(["description"], "INVALID", f"At most {DESCRIPTION_LENGTH} characters."))
        values["description"] = description
    if terms.scopes is not KEEP:
        scopes = None if terms.scopes is None else sorted({Permission(s).value for s in terms.scopes})
        if scopes is not None and not scopes:
            message = "Give at least one permission, or leave scopes out for all of the user's."
            errors.append(UserError(["scopes"], "INVALID", message))
        not_grantable = authority.not_grantable(actor, scopes or (), ["scopes"])
        beyond = [s for s in scopes or () if Permission(s) not in held]
        if not_grantable is not None:
            errors.append(not_grantable)
        elif beyond:
            message = f"The key's user does not hold {', '.join(beyond)}; a key cannot do more than its user."
            errors.append(UserError(["scopes"], "SCOPE_NOT_HELD", message))
        values["scopes"] = scopes
    if terms.expires_at is not KEEP:
        if terms.expires_at is not None and terms.expires_at <= utcnow():
            errors.append(UserError(["expiresAt"], "INVALID", "The expiry must be in the future."))
        values["expires_at"] = terms.expires_at
    if errors:
        raise Rejected(errors)
    return values


async def _room_for_one_more(session: AsyncSession, settings: Settings, user: m.User, field: str) -> None:
    """At most `access_keys_per_user` active keys (2, as AWS IAM): room for rotation's overlap."""
    active = (
        await session.execute(
            select(func.count())
            .select_from(m.AccessKey)
            .where(m.AccessKey.user_id == user.id, m.AccessKey.active)
        )
    ).scalar_one()
    if active >= settings.access_keys_per_user:
        message = (
            f"A user has at most {settings.access_keys_per_user} active access keys; "
            "deactivate or delete one first."
        )
        raise Rejected([UserError([field], "LIMIT_REACHED", message)])


async def _issue(
    session: AsyncSession, settings: Settings, actor: Actor, user: m.User, values: dict[str, Any], field: str
) -> NewAccessKey:
    if not user.enabled:
        raise Rejected([UserError([field], "USER_DISABLED", "The user is disabled.")])
    await _room_for_one_more(session, settings, user, field)
    secret = access_keys.new_secret()
    key = m.AccessKey(
        user_id=user.id,
        key_id=access_keys.new_key_id(),
        secret_hash=access_keys.secret_hash(secret),
        **values,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        actor,
        "accessKey.create",
        user,
        business_unit_id=user.business_unit_id,
        changes={"accessKeyId": {"before": None, "after": key.key_id}, **_terms_added(values)},
    )
    return NewAccessKey(key, secret)


def _terms_added(values: dict[str, Any]) -> dict[str, Any]:
    return {
        _FIELDS[column]: {"before": None, "after": _shown(value)}
        for column, value in values.items()
        if value not in (None, "")
    }


_FIELDS = {"name": "name", "description": "description", "scopes": "scopes", "expires_at": "expiresAt"}


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def _user_permissions(session: AsyncSession, user_id: int) -> frozenset[Permission]:
    return (await authority.held_by(session, [user_id])).get(user_id, frozenset())


async def create(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    user_id: int,
    terms: KeyTerms,
    *,
    validate_only: bool = False,
) -> Outcome[NewAccessKey]:
    """A new key for a user the actor may act on; its secret is shown once."""

    async def work() -> NewAccessKey:
        user = await authority.act_on(session, actor, user_id, "userId", master_only="access keys")
        values = _checked(actor, terms, await _user_permissions(session, user.id))
        return await _issue(session, settings, actor, user, values, "userId")

    return await run_write(session, work, validate_only=validate_only)


async def rotate(
    session: AsyncSession, settings: Settings, actor: Actor, key_pk: int, *, validate_only: bool = False
) -> Outcome[NewAccessKey]:
    """A successor with the same name, description and scopes, and (for an expiring key) the
    same lifetime from now. The old key keeps working until it is deactivated, so a partner can
    switch over without an outage; an expired key's successor replaces it."""

    async def work() -> NewAccessKey:
        key, user = await _visible_key(session, actor, key_pk)
        # the user may have lost a permission since: the successor holds only what is still theirs
        held = await _user_permissions(session, user.id)
        scopes = key.scopes
        if scopes is not None:
            scopes = [s for s in scopes if s in Permission.__members__ and Permission(s) in held]
            if not scopes:
                message = "The user no longer holds any of this key's scopes; create a new key instead."
                raise Rejected([UserError(["id"], "SCOPE_NOT_HELD", message)])
        # an expiring key's successor lives as long, from now: rotation never makes a key eternal
        lifetime = key.expires_at - key.created_at if key.expires_at is not None else None
        values = {
            "name": key.name,
            "description": key.description,
            "scopes": scopes,
            "expires_at": utcnow() + lifetime if lifetime is not None else None,
        }
        return await _issue(session, settings, actor, user, values, "id")

    return await run_write(session, work, validate_only=validate_only)


async def update(
    session: AsyncSession, actor: Actor, key_pk: int, terms: KeyTerms, *, validate_only: bool = False
) -> Outcome[m.AccessKey]:
    """Rename, describe, narrow or widen (within the user's permissions), or change the expiry."""

    async def work() -> m.AccessKey:
        key, user = await _visible_key(session, actor, key_pk)
        values = _checked(actor, terms, await _user_permissions(session, user.id))
        changes = {
            _FIELDS[column]: {"before": _shown(getattr(key, column)), "after": _shown(value)}
            for column, value in values.items()
            if getattr(key, column) != value
        }
        for column, value in values.items():
            setattr(key, column, value)
        if changes:
            audit.record(
                session,
                actor,
                "accessKey.update",
                key,
                business_unit_id=user.business_unit_id,
                changes=changes,
                label=key.key_id,
            )
        return key

    return await run_write(session, work, validate_only=validate_only)


async def _set_active(
    session: AsyncSession,
    settings: Settings | None,
    actor: Actor,
    key_pk: int,
    active: bool,
    validate_only: bool,
) -> Outcome[m.AccessKey]:
    async def work() -> m.AccessKey:
        key, user = await _visible_key(session, actor, key_pk)
        if active and key.expires_at is not None and key.expires_at <= utcnow():
            message = "The key has expired and cannot be reactivated; rotate or create a new key."
            raise Rejected([UserError(["id"], "EXPIRED", message)])
        if key.active == active:
            return key
        if not active:  # its tokens end with it, for good: reactivating the key does not revive them
            await session.execute(
                update_rows(m.Session)
                .where(m.Session.access_key_id == key.id, m.Session.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        else:
            assert settings is not None
            if not user.enabled:
                raise Rejected([UserError(["id"], "USER_DISABLED", "The key's user is disabled.")])
            await _room_for_one_more(session, settings, user, "id")
        key.active = active
        audit.record(
            session,
            actor,
            "accessKey.activate" if active else "accessKey.deactivate",
            user,
            business_unit_id=user.business_unit_id,
            changes={
                "accessKeyId": {"before": key.key_id, "after": key.key_id},
                "active": {"before": not active, "after": active},
            },
        )
        return key

    return await run_write(session, work, validate_only=validate_only)


async def deactivate(
    session: AsyncSession, actor: Actor, key_pk: int, *, validate_only: bool = False
) -> Outcome[m.AccessKey]:
    """The key stops signing requests in at once, and so do the tokens issued to it."""
    return await _set_active(session, None, actor, key_pk, False, validate_only)


async def activate(
    session: AsyncSession, settings: Settings, actor: Actor, key_pk: int, *, validate_only: bool = False
) -> Outcome[m.AccessKey]:
    """A deactivated key works again (not an expired one), within the limit of active keys."""
    return await _set_active(session, settings, actor, key_pk, True, validate_only)


async def delete(
    session: AsyncSession, actor: Actor, key_pk: int, *, validate_only: bool = False
) -> Outcome[int]:
    async def work() -> int:
        key, user = await _visible_key(session, actor, key_pk)
        audit.record(
            session,
            actor,
            "accessKey.delete",
            user,
            business_unit_id=user.business_unit_id,
            changes={"accessKeyId": {"before": key.key_id, "after": None}},
        )
        await session.delete(key)
        return key_pk

    return await run_write(session, work, validate_only=validate_only)


async def _visible_key(session: AsyncSession, actor: Actor, key_pk: int) -> tuple[m.AccessKey, m.User]:
    key = await session.get(m.AccessKey, key_pk, populate_existing=True)
    if key is None:
        raise missing("access key")
    user = await owner_of(session, actor, key, "access key", master_only="access keys")
    return key, user


def scope_names(scopes: Sequence[str] | None) -> list[Permission] | None:
    return None if scopes is None else [Permission(s) for s in scopes if s in Permission.__members__]
