"""A small demo organisation for exploring the API in GraphiQL. Loaded once: a business unit
that already has users besides the administrator is left as it is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db.engine import begin_write
from ccgraph.db.models import (
    BusinessUnit,
    PresenceStatus,
    Queue,
    SecurityProfile,
    Skill,
    Team,
    User,
    UserProfile,
    UserSkill,
    WorkStream,
    user_queues,
    user_work_streams,
)
from ccgraph.enums import BaseStatus, Channel, Permission, PhoneType
from ccgraph.services.bootstrap import ensure_base_presences

WORK_STREAMS = {"Voice": Channel.VOICE, "Chat": Channel.CHAT, "Email": Channel.EMAIL}
QUEUES = ["General Support", "Billing", "Technical Support", "VIP"]
TEAMS = ["Tier 1", "Tier 2", "Billing Desk"]
SKILLS = {
    "English": "Voice",
    "Spanish": "Voice",
    "Billing": "Email",
    "Troubleshooting": "Chat",
    "Escalations": None,
}
SUPERVISOR_PERMISSIONS = [
    p.value
    for p in Permission
    if p.name.endswith("_VIEW") and p is not Permission.EXTERNAL_BUSINESS_UNIT_VIEW
] + [Permission.USERS_EDIT.value, Permission.SKILLS_EDIT.value]
# (first, last, team, profile, capacity, own queues, skills with proficiency)
AGENTS = [
    ("Gilda", "Moss", "Tier 2", "Subject Matter Experts", 50, ["VIP"], {"English": 1, "Escalations": 2}),
    ("Ravi", "Kumar", "Tier 1", "Experienced Agents", None, [], {"English": 3, "Troubleshooting": 5}),
    ("Lena", "Vogel", "Tier 1", "Experienced Agents", None, ["Billing"], {"English": 4, "Billing": 2}),
    ("Mateo", "García", "Billing Desk", "Experienced Agents", 30, [], {"Spanish": 1, "Billing": 6}),
    ("Aiko", "Tanaka", "Tier 2", "Subject Matter Experts", None, [], {"English": 2, "Troubleshooting": 1}),
    ("Noah", "Okafor", "Tier 1", None, 20, ["General Support"], {"English": 10}),
]


@dataclass(frozen=True, slots=True)
class DemoResult:
    loaded: bool
    users: int


async def load_demo(session: AsyncSession) -> DemoResult:
    await begin_write(session)
    unit = (await session.execute(select(BusinessUnit).order_by(BusinessUnit.id))).scalars().first()
    if unit is None:
        raise RuntimeError("run `ccgraph init` first: there is no business unit")
    count = (
        await session.execute(
            select(func.count())
            .select_from(User)
            .where(User.business_unit_id == unit.id, User.is_master_admin.is_(False))
        )
    ).scalar_one()
    if count:
        await session.rollback()
        return DemoResult(loaded=False, users=count)
    unit.custom_field_1_label = "Employee Type"
    unit.custom_field_2_label = "Shift"
    unit.omnichannel_session_handling = True
    catalog = await _catalog(session, unit.id)
    await _people(session, unit.id, catalog)
    await _second_unit(session)
    await session.commit()
    return DemoResult(loaded=True, users=len(AGENTS) + 2)


@dataclass(slots=True)
class _Catalog:
    streams: dict[str, WorkStream]
    queues: dict[str, Queue]
    teams: dict[str, Team]
    skills: dict[str, Skill]
    profiles: dict[str, UserProfile]
    supervisor: SecurityProfile
    agent: SecurityProfile


async def _catalog(session: AsyncSession, bu: int) -> _Catalog:
    """Work streams, queues, teams, presence statuses, skills, user and security profiles."""
    await ensure_base_presences(session, bu)
    streams = {n: WorkStream(business_unit_id=bu, name=n, channel=c) for n, c in WORK_STREAMS.items()}
    queues = {n: Queue(business_unit_id=bu, name=n, description=f"{n} queue") for n in QUEUES}
    teams = {n: Team(business_unit_id=bu, name=n) for n in TEAMS}
    lunch = PresenceStatus(business_unit_id=bu, name="Lunch", base_status=BaseStatus.AWAY)
    training = PresenceStatus(business_unit_id=bu, name="Training", base_status=BaseStatus.BUSY_DND)
    session.add_all([*streams.values(), *queues.values(), *teams.values(), lunch, training])
    await session.flush()
    available = (
        await session.execute(
            select(PresenceStatus).where(
                PresenceStatus.business_unit_id == bu, PresenceStatus.name == "Available"
            )
        )
    ).scalar_one()
    skills = {
        n: Skill(business_unit_id=bu, name=n, work_stream_id=streams[s].id if s else None)
        for n, s in SKILLS.items()
    }
    profiles = {
        "Subject Matter Experts": UserProfile(
            business_unit_id=bu,
            name="Subject Matter Experts",
            capacity=40,
            default_presence_id=available.id,
            channel_concurrency={"CHAT": 3, "EMAIL": 5},
            queues=[queues["Technical Support"], queues["VIP"]],
            work_streams=[streams["Voice"], streams["Chat"]],
        ),
        "Experienced Agents": UserProfile(
            business_unit_id=bu,
            name="Experienced Agents",
            capacity=60,
            default_presence_id=available.id,
            channel_concurrency={"CHAT": 2},
            queues=[queues["General Support"]],
            work_streams=[streams["Voice"], streams["Email"]],
        ),
    }
    supervisor = SecurityProfile(
        business_unit_id=bu,
        name="Supervisor",
        description="Sees everything in the unit; edits users.",
        permissions=SUPERVISOR_PERMISSIONS,
    )
    agent = SecurityProfile(
        business_unit_id=bu,
        name="Agent",
        description="Sees users and skills.",
        permissions=[Permission.USERS_VIEW.value, Permission.SKILLS_VIEW.value],
        generate_random_passwords=True,
    )
    session.add_all([*skills.values(), *profiles.values(), supervisor, agent])
    await session.flush()
    return _Catalog(streams, queues, teams, skills, profiles, supervisor, agent)


async def _people(session: AsyncSession, bu: int, catalog: _Catalog) -> None:
    """A supervisor and the agents who report to them, with their queues and skills."""
    supervisor = User(
        business_unit_id=bu,
        username="sam.supervisor",
        first_name="Sam",
        last_name="Supervisor",
        email="sam.supervisor@example.com",
        team_id=catalog.teams["Tier 2"].id,
        timezone="Europe/London",
        country="GB",
        city="London",
        security_profiles=[catalog.supervisor],
    )
    session.add(supervisor)
    await session.flush()
    for first, last, team, profile, capacity, own_queues, proficiencies in AGENTS:
        username = f"{first}.{last}".lower().replace("í", "i")
        user = User(
            business_unit_id=bu,
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@example.com",
            team_id=catalog.teams[team].id,
            manager_id=supervisor.id,
            user_profile_id=catalog.profiles[profile].id if profile else None,
            capacity=capacity,
            timezone="America/New_York",
            country="US",
            city="New York",
            phone_type=PhoneType.SOFTPHONE,
            security_profiles=[catalog.agent],
            custom_1="Full-time",
            custom_2="Day",
        )
        session.add(user)
        await session.flush()
        for name in own_queues:
            await session.execute(
                insert(user_queues).values(user_id=user.id, queue_id=catalog.queues[name].id)
            )
        if username == "noah.okafor":
            await session.execute(
                insert(user_work_streams).values(user_id=user.id, work_stream_id=catalog.streams["Chat"].id)
            )
        session.add_all(
            UserSkill(user_id=user.id, skill_id=catalog.skills[s].id, proficiency=p)
            for s, p in proficiencies.items()
        )


async def _second_unit(session: AsyncSession) -> None:
    """Another business unit with one user, to show what the first unit's people cannot see."""
    other = BusinessUnit(name="Contoso Sales")
    session.add(other)
    await session.flush()
    await ensure_base_presences(session, other.id)
    session.add(
        User(
            business_unit_id=other.id,
            username="olivia.sales",
            first_name="Olivia",
            last_name="Sales",
            email="olivia.sales@example.com",
            country="US",
            city="Seattle",
        )
    )
