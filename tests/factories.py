"""Arrange data directly through the ORM on the app's own database."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.enums import BaseStatus, Channel, Permission

_seq = itertools.count(1)


def gid(type_name: str, pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64(type_name, pk)


async def business_unit(db: AsyncSession, name: str | None = None, **kw: Any) -> m.BusinessUnit:
    unit = m.BusinessUnit(name=name or f"Unit {next(_seq)}", **kw)
    db.add(unit)
    await db.flush()
    return unit


async def security_profile(
    db: AsyncSession, unit: m.BusinessUnit, permissions: list[Permission], name: str | None = None, **kw: Any
) -> m.SecurityProfile:
    profile = m.SecurityProfile(
        business_unit_id=unit.id,
        name=name or f"Profile {next(_seq)}",
        permissions=[p.value for p in permissions],
        **kw,
    )
    db.add(profile)
    await db.flush()
    return profile


async def user(
    db: AsyncSession,
    unit: m.BusinessUnit,
    username: str | None = None,
    *,
    password: str | None = None,
    passwords: Passwords | None = None,
    profiles: list[m.SecurityProfile] = (),
    **kw: Any,
) -> m.User:
    username = username or f"user{next(_seq)}"
    row = m.User(
        business_unit_id=unit.id,
        username=username,
        first_name=kw.pop("first_name", "First"),
        last_name=kw.pop("last_name", username.title()),
        email=f"{username}@example.com",
        password_hash=await passwords.hash(password) if password and passwords else None,
        security_profiles=list(profiles),
        **kw,
    )
    db.add(row)
    await db.flush()
    return row


async def named(db: AsyncSession, model: Any, unit: m.BusinessUnit, name: str, **kw: Any) -> Any:
    row = model(business_unit_id=unit.id, name=name, **kw)
    db.add(row)
    await db.flush()
    return row


async def queue(db: AsyncSession, unit: m.BusinessUnit, name: str) -> m.Queue:
    return await named(db, m.Queue, unit, name)


async def work_stream(
    db: AsyncSession, unit: m.BusinessUnit, name: str, channel: Channel = Channel.CHAT
) -> m.WorkStream:
    return await named(db, m.WorkStream, unit, name, channel=channel)


async def presence(
    db: AsyncSession, unit: m.BusinessUnit, name: str, base: BaseStatus = BaseStatus.AVAILABLE
) -> m.PresenceStatus:
    return await named(db, m.PresenceStatus, unit, name, base_status=base)


async def link(db: AsyncSession, table: Any, **values: Any) -> None:
    await db.execute(insert(table).values(**values))
