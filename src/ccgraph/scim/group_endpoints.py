"""/Groups: ccgraph's teams. The name and `externalId` through the catalog's team use cases
(`teamCreate`, `teamUpdate`, `teamDelete`), the members through the users' update use case
(`userUpdate` setting their team), so that both need what GraphQL needs for them; one request
is one transaction: a member refused, and neither the team nor any member is changed. Reading
a group lists users: it needs TEAMS_VIEW and USERS_VIEW."""

from __future__ import annotations

from typing import Any

from scim2_models import Context
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.scim.app import (
    Scim,
    base_url,
    check_version,
    list_response,
    not_modified,
    page_bounds,
    parse,
    patch_request,
    payload,
    response_parameters,
    search_request,
)
from ccgraph.scim.errors import ScimError, from_user_errors
from ccgraph.scim.filters import to_sql
from ccgraph.scim.groups import ATTRIBUTES, member_ids, members_of, membership_changes, resource
from ccgraph.scim.ids import pk_of
from ccgraph.scim.models import POLICY, Team
from ccgraph.scim.permissions import Action
from ccgraph.scim.responses import scim_json
from ccgraph.scim.users import etag
from ccgraph.services import pagination
from ccgraph.services.catalog import writes as catalog
from ccgraph.services.catalog.queries import catalog_query
from ccgraph.services.errors import UserError
from ccgraph.services.users import lifecycle
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

READ = (Action.READ_TEAMS, Action.READ_USERS)
# A member's errors come prefixed with "members" (see `_members`).
ERRORS = {"name": "displayName", "externalId": "externalId", "members": "members"}


async def search(scim: Scim, request: Request) -> Response:
    principal = await scim.authorize(request, *READ)
    data = dict(request.query_params) if request.method == "GET" else await payload(request)
    wanted = search_request(Team, data)
    start, count = page_bounds(wanted)
    stmt = catalog_query(m.Team, principal)
    if wanted.filter is not None:
        stmt = stmt.where(to_sql(wanted.filter.ast, ATTRIBUTES))
    async with scim.session() as session:
        total = await pagination.count(session, stmt)
        teams = list(
            (await session.scalars(stmt.order_by(m.Team.id).offset(start - 1).limit(count))).all()
            if count
            else []
        )
        members = await members_of(session, [t.id for t in teams])
    base = base_url(request)
    return list_response(
        Team, total, start, [resource(t, members.get(t.id, []), base) for t in teams], wanted
    )


async def get(scim: Scim, request: Request) -> Response:
    principal = await scim.authorize(request, *READ)
    parameters = response_parameters(Team, request)
    async with scim.session() as session:
        team = await _visible(session, principal, request)
        if not_modified(request, etag(team.version)):
            return Response(status_code=304, headers={"ETag": etag(team.version)})
        return await _answer(request, session, team, 200, Context.RESOURCE_QUERY_RESPONSE, parameters)


async def create(scim: Scim, request: Request) -> Response:
    new: Team = parse(Team, await payload(request), Context.RESOURCE_CREATION_REQUEST)
    wanted = member_ids(new)
    principal = await scim.authorize(request, Action.CREATE_TEAM, *((Action.UPDATE_USER,) if wanted else ()))
    parameters = response_parameters(Team, request)
    actor = scim.actor(principal, request)
    async with scim.session(write=True) as session:

        async def work() -> int:
            values = {"name": new.display_name, "external_id": new.external_id}
            team = await catalog.create_row(session, actor, catalog.TEAM, values)
            await _members(session, actor, team.id, [], wanted)
            return int(team.id)

        outcome = await run_write(session, work)
        _ok(outcome)
        assert outcome.value is not None
        team = await _reread(session, outcome.value)
        return await _answer(request, session, team, 201, Context.RESOURCE_CREATION_RESPONSE, parameters)


async def replace(scim: Scim, request: Request) -> Response:
    data = await payload(request)
    return await _change(
        scim, request, lambda _current: parse(Team, data, Context.RESOURCE_REPLACEMENT_REQUEST)
    )


async def patch(scim: Scim, request: Request) -> Response:
    operations = patch_request(Team, await payload(request))

    def patched(current: Team) -> Team:
        operations.patch(current, POLICY)
        return current

    return await _change(scim, request, patched)


async def delete(scim: Scim, request: Request) -> Response:
    """The team goes; its members stay, in no team."""
    principal = await scim.authorize(request, Action.DELETE_TEAM)
    async with scim.session(write=True) as session:
        team = await _visible(session, principal, request)
        check_version(request, team.version)
        _ok(await catalog.remove(session, scim.actor(principal, request), catalog.TEAM, team.id))
    return Response(status_code=204)


async def _change(scim: Scim, request: Request, wanted: Any) -> Response:
    principal = await scim.authorize(request, *READ)
    parameters = response_parameters(Team, request)
    actor = scim.actor(principal, request)
    async with scim.session(write=True) as session:
        team = await _visible(session, principal, request)
        expected = check_version(request, team.version)
        team_id, version, name, external_id = team.id, team.version, team.name, team.external_id
        listed = (await members_of(session, [team_id])).get(team_id, [])
        current = [uid for uid, _ in listed]
        new: Team = wanted(resource(team, listed, base_url(request)))
        members = member_ids(new)
        values: dict[str, Any] = {}
        if new.display_name is not None and new.display_name != name:
            values["name"] = new.display_name
        if (new.external_id or None) != external_id:
            values["external_id"] = new.external_id
        scim.require(
            principal,
            *((Action.UPDATE_TEAM,) if values else ()),
            *((Action.UPDATE_USER,) if members != set(current) else ()),
        )

        async def work() -> None:
            if values:
                await catalog.update_row(session, actor, catalog.TEAM, team_id, expected or version, values)
            await _members(session, actor, team_id, current, members)

        _ok(await run_write(session, work), if_match=expected is not None)
        team = await _reread(session, team_id)
        ctx = (
            Context.RESOURCE_PATCH_RESPONSE
            if request.method == "PATCH"
            else Context.RESOURCE_REPLACEMENT_RESPONSE
        )
        return await _answer(request, session, team, 200, ctx, parameters)


async def _members(session: AsyncSession, actor: Actor, team_id: int, current: Any, wanted: set[int]) -> None:
    """Move users in and out of the team inside the request's transaction, all or none; a
    member's error is named under `members` (a member not found is a bad value, not a 404)."""
    changes = membership_changes(team_id, current, wanted)
    if not changes:
        return
    try:
        await lifecycle.update_rows(session, actor, changes)
    except Rejected as refused:
        raise Rejected(
            [UserError(["members", *(e.field or [])], e.code, e.message) for e in refused.errors]
        ) from None


def _ok(outcome: Outcome[Any], *, if_match: bool = False) -> None:
    if outcome.errors:
        raise from_user_errors(outcome.errors, ERRORS, if_match=if_match)


async def _visible(session: AsyncSession, principal: Principal, request: Request) -> m.Team:
    raw = request.path_params["id"]
    pk = pk_of("Team", raw)
    team = None
    if pk is not None:
        team = await session.scalar(catalog_query(m.Team, principal).where(m.Team.id == pk))
    if team is None:
        raise ScimError(404, f"No group {raw!r}.")
    return team


async def _reread(session: AsyncSession, team_id: int) -> m.Team:
    team = await session.get(m.Team, team_id, populate_existing=True)
    if team is None:
        raise ScimError(404, "The group was deleted meanwhile.")
    return team


async def _answer(
    request: Request, session: AsyncSession, team: m.Team, status: int, ctx: Context, parameters: Any
) -> Response:
    members = (await members_of(session, [team.id])).get(team.id, [])
    rendered = resource(team, members, base_url(request))
    headers = {"ETag": etag(team.version)}
    if status == 201:
        headers["Location"] = str(rendered.meta.location if rendered.meta else "")
    return scim_json(rendered, status, headers=headers, ctx=ctx, parameters=parameters)
