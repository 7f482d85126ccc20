"""A ccgraph team as a SCIM Group. A user is in at most one team, so adding a member to a group
moves them out of the team they were in (their old group loses them); removing a member
leaves them in no team. Membership is the users' `team_id`, changed through the users'
update use case: the same checks, authority rule and audit events as `userUpdate`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.db import models as m
from ccgraph.scim.errors import ScimError
from ccgraph.scim.filters import Attributes, Custom, Exact, Ref
from ccgraph.scim.ids import gid, pk_of
from ccgraph.scim.models import Team
from ccgraph.scim.users import etag
from ccgraph.services.users.checks import chunks
from ccgraph.services.users.lifecycle import Change

GROUP = str(Team.__schema__)


async def members_of(session: AsyncSession, team_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """Each team's members (id, username), by username: one statement for a page of teams."""
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in chunks(sorted(set(team_ids))):
        rows = await session.execute(
            select(m.User.team_id, m.User.id, m.User.username)
            .where(m.User.team_id.in_(chunk))
            .order_by(m.User.username)
        )
        for team_id, user_id, username in rows.all():
            if team_id is not None:
                found[team_id].append((user_id, username))
    return found


def resource(team: m.Team, members: Sequence[tuple[int, str]], base: str) -> Team:
    return Team.model_validate(
        {
            "id": gid("Team", team.id),
            "externalId": team.external_id,
            "meta": {
                "resourceType": "Group",
                "created": team.created_at,
                "lastModified": team.updated_at,
                "location": f"{base}/Groups/{gid('Team', team.id)}",
                "version": etag(team.version),
            },
            "displayName": team.name,
            "members": [
                {
                    "value": gid("User", uid),
                    "$ref": f"{base}/Users/{gid('User', uid)}",
                    "display": name,
                    "type": "User",
                }
                for uid, name in members
            ]
            or None,
        }
    )


def member_ids(group: Team) -> set[int]:
    """The users a group lists; a value that is not a User id is refused."""
    wanted = set()
    for member in group.members or []:
        pk = pk_of("User", member.value or "")
        if pk is None:
            raise ScimError(400, f"members: {member.value!r} is not a User id.", "invalidValue")
        wanted.add(pk)
    return wanted


def membership_changes(team_id: int, current: Iterable[int], wanted: Iterable[int]) -> list[Change]:
    """Move the users `wanted` lists into the team, and the members it no longer lists out."""
    current, wanted = set(current), set(wanted)
    joining = [Change({"team_id": team_id}, user_id=uid) for uid in sorted(wanted - current)]
    leaving = [Change({"team_id": None}, user_id=uid) for uid in sorted(current - wanted)]
    return joining + leaving


def _has_member(op: Any, value: Any) -> Any:
    pk = pk_of("User", value) if isinstance(value, str) else None
    if op.value != "eq" or pk is None:
        raise ScimError(400, "members: compare a User id with eq.", "invalidFilter")
    return exists().where(m.User.team_id == m.Team.id, m.User.id == pk)


ATTRIBUTES = Attributes(
    schema=GROUP,
    simple={
        (GROUP.lower(), "id"): Ref(m.Team.id, "Team"),
        (GROUP.lower(), "displayname"): m.Team.name,
        (GROUP.lower(), "externalid"): Exact(m.Team.external_id),
    },
    complex={
        (GROUP.lower(), "members"): [
            {"value": Custom(_has_member, lambda: exists().where(m.User.team_id == m.Team.id))}
        ],
        (GROUP.lower(), "meta"): [{"created": m.Team.created_at, "lastmodified": m.Team.updated_at}],
    },
)
