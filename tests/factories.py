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


async def organisation(db: AsyncSession, users: int) -> None:
    """A unit whose users have every relation: team, manager, profile (with queues, work
    streams and a presence), queues, work streams and skills."""
    unit = await db.get(m.BusinessUnit, 1)
    team = await named(db, m.Team, unit, "Tier 1")
    ready = await presence(db, unit, "Ready")
    queues = [await queue(db, unit, f"Q{i}") for i in range(3)]
    streams = [await work_stream(db, unit, f"W{i}", Channel.CHAT) for i in range(2)]
    skills = [await named(db, m.Skill, unit, f"S{i}", work_stream_id=streams[i % 2].id) for i in range(4)]
    profile = m.UserProfile(business_unit_id=unit.id, name="P", capacity=40, default_presence_id=ready.id)
    db.add(profile)
    await db.flush()
    await link(db, m.user_profile_queues, user_profile_id=profile.id, queue_id=queues[0].id)
    await link(db, m.user_profile_work_streams, user_profile_id=profile.id, work_stream_id=streams[0].id)
    boss = await user(db, unit, "aaa-boss")
    for i in range(users):
        u = await user(
            db,
            unit,
            f"agent{i:03}",
            team_id=team.id,
            user_profile_id=profile.id,
            manager_id=boss.id,
            capacity=50 if i % 2 else None,
        )
        await link(db, m.user_queues, user_id=u.id, queue_id=queues[i % 3].id)
        await link(db, m.user_work_streams, user_id=u.id, work_stream_id=streams[1].id)
        for s in skills[: 1 + i % 4]:
            await link(db, m.UserSkill.__table__, user_id=u.id, skill_id=s.id, proficiency=1 + i % 20)
    for n in range(2):  # a partner's webhooks, owned by the boss
        db.add(
            m.Webhook(
                business_unit_id=unit.id,
                owner_user_id=boss.id,
                url=f"https://partner.example/hooks/{n}",
                event_types=["user.created"],
                secret_sealed="sealed",
            )
        )
    await db.commit()
