"""A generated users file of any size and the catalog it names (teams, queues, skills, the
"Agent" security profile), for the import benchmark and the fault tests."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.db.engine import create_engine, session_factory
from ccgraph.enums import Permission

HEADER = [
    "username",
    "firstName",
    "lastName",
    "email",
    "team",
    "securityProfiles",
    "skills",
    "queues",
    "timezone",
    "country",
    "city",
    "capacity",
    "phone.type",
    "Custom 1",
]


def write_file(path: Path, users: int) -> None:
    """A CSV of `users` new agents of the first business unit."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(users):
            writer.writerow(
                [
                    f"agent{i:06}",
                    "Agent",
                    f"Number {i}",
                    f"agent{i}@example.com",
                    f"Team {i % 20}",
                    "Agent",
                    f"Skill {i % 50}={1 + i % 20};Skill {(i + 7) % 50}={1 + (i + 3) % 20}",
                    f"Queue {i % 30}",
                    "Europe/London",
                    "GB",
                    "London",
                    str(20 + i % 40),
                    "SOFTPHONE",
                    "Full-time",
                ]
            )


async def load_catalog(db: AsyncSession) -> None:
    """What the file names, in the first business unit."""
    unit = 1
    db.add_all([m.Team(business_unit_id=unit, name=f"Team {i}") for i in range(20)])
    db.add_all([m.Queue(business_unit_id=unit, name=f"Queue {i}") for i in range(30)])
    db.add_all([m.Skill(business_unit_id=unit, name=f"Skill {i}") for i in range(50)])
    db.add(m.SecurityProfile(business_unit_id=unit, name="Agent", permissions=[Permission.USERS_VIEW.value]))
    await db.commit()


def prepare(settings: Settings) -> None:
    """`load_catalog` into the database of `settings`, from a script."""

    async def run() -> None:
        engine = create_engine(settings)
        async with session_factory(engine)() as db:
            await load_catalog(db)
        await engine.dispose()

    asyncio.run(run())
