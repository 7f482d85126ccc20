"""/Users: list, search, read, create, replace, patch, delete, each through the users' use cases.

A change of `active` is the enable/disable use case and a `password` the password reset, after
the attributes' update, each audited as GraphQL audits it. One request is one transaction: if
any step is refused, nothing is written and the answer is that step's error."""

from __future__ import annotations

from typing import Any

from scim2_models import Context
from sqlalchemy import select
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
from ccgraph.scim.ids import pk_of
from ccgraph.scim.models import POLICY, ScimUser
from ccgraph.scim.permissions import Action
from ccgraph.scim.responses import scim_json
from ccgraph.scim.users import ATTRIBUTES, error_attributes, etag, related, resource, values_of
from ccgraph.services import credentials, pagination
from ccgraph.services.users import lifecycle
from ccgraph.services.users.checks import Draft, RowResult
from ccgraph.services.users.lifecycle import Change
from ccgraph.services.users.queries import UserFilter, users_query
from ccgraph.services.writes import Outcome, run_write

# Given no security profile, a user created over SCIM gets the unit's profile of this name.
DEFAULT_SECURITY_PROFILE = "Agent"
ERRORS = error_attributes()


async def search(scim: Scim, request: Request) -> Response:
    principal = await scim.authorize(request, Action.READ_USERS)
    data = dict(request.query_params) if request.method == "GET" else await payload(request)
    wanted = search_request(ScimUser, data)
    start, count = page_bounds(wanted)
    stmt = users_query(principal, UserFilter())
    if wanted.filter is not None:
        stmt = stmt.where(to_sql(wanted.filter.ast, ATTRIBUTES))
    async with scim.session() as session:
        total = await pagination.count(session, stmt)
        users = list(
            (await session.scalars(stmt.order_by(m.User.id).offset(start - 1).limit(count))).all()
            if count
            else []
        )
        rel = await related(session, users)
    return list_response(ScimUser, total, start, [resource(u, rel, base_url(request)) for u in users], wanted)


async def get(scim: Scim, request: Request) -> Response:
    principal = await scim.authorize(request, Action.READ_USERS)
    parameters = response_parameters(ScimUser, request)
    async with scim.session() as session:
        user = await _visible(session, principal, request)
        tag = etag(user.version)
        if not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        return _answer(
            request, user, 200, Context.RESOURCE_QUERY_RESPONSE, parameters, await related(session, [user])
        )


async def create(scim: Scim, request: Request) -> Response:
    data = await payload(request)
    new: ScimUser = parse(ScimUser, data, Context.RESOURCE_CREATION_REQUEST)
    actions = (Action.CREATE_USER, Action.ENABLE_USER) if new.active is False else (Action.CREATE_USER,)
    principal = await scim.authorize(request, *actions)
    parameters = response_parameters(ScimUser, request)
    actor = scim.actor(principal, request)
    async with scim.session(write=True) as session:
        unit_id = principal.business_unit_id
        values = await values_of(session, unit_id, new, creating=True)
        if "security_profile_ids" not in values:
            default = await session.scalar(
                select(m.SecurityProfile.id).where(
                    m.SecurityProfile.business_unit_id == unit_id,
                    m.SecurityProfile.name == DEFAULT_SECURITY_PROFILE,
                )
            )
            values["security_profile_ids"] = [default] if default is not None else []
        # Without a password the profile decides: a generated one mailed, or none until a reset
        # (as a users file creates them).
        draft = Draft(values, new.password, new.password, without_password=new.password is None)

        async def inactive(results: list[RowResult]) -> None:
            """Created disabled, in the creation's transaction."""
            [row] = results
            assert row.user is not None
            await lifecycle.enable_user(session, actor, row.user.id, False)

        outcome = await lifecycle.create_users(
            session, scim.passwords, actor, [draft], then=inactive if new.active is False else None
        )
        _ok(outcome)
        [row] = outcome.value or []
        assert row.user is not None
        user = await _reread(session, row.user.id)
        rel = await related(session, [user])
        return _answer(request, user, 201, Context.RESOURCE_CREATION_RESPONSE, parameters, rel)


async def replace(scim: Scim, request: Request) -> Response:
    data = await payload(request)
    return await _change(
        scim, request, lambda _current: parse(ScimUser, data, Context.RESOURCE_REPLACEMENT_REQUEST)
    )


async def patch(scim: Scim, request: Request) -> Response:
    data = await payload(request)
    operations = patch_request(ScimUser, data)

    def patched(current: ScimUser) -> ScimUser:
        operations.patch(current, POLICY)
        return current

    return await _change(scim, request, patched)


async def delete(scim: Scim, request: Request) -> Response:
    principal = await scim.authorize(request, Action.DELETE_USER)
    async with scim.session(write=True) as session:
        user = await _visible(session, principal, request)
        check_version(request, user.version)
        _ok(await lifecycle.delete_user(session, scim.actor(principal, request), user.id))
    return Response(status_code=204)


# -- helpers ----------------------------------------------------------------------------------


async def _change(scim: Scim, request: Request, wanted: Any) -> Response:
    """PUT and PATCH: the attributes through the update use case (from the version If-Match
    names, else the current one), then `active`, then `password`, in one transaction."""
    principal = await scim.authorize(request, Action.UPDATE_USER)
    parameters = response_parameters(ScimUser, request)
    actor = scim.actor(principal, request)
    async with scim.session(write=True) as session:
        user = await _visible(session, principal, request)
        expected = check_version(request, user.version)
        user_id, version, enabled, unit_id = user.id, user.version, user.enabled, user.business_unit_id
        new: ScimUser = wanted(resource(user, await related(session, [user]), base_url(request)))
        if new.active is not None and new.active != enabled:
            scim.require(principal, Action.ENABLE_USER)
        if new.password:
            scim.require(principal, Action.RESET_PASSWORD)
        values = await values_of(session, unit_id, new, creating=False, whole=request.method == "PATCH")
        change = Change(values, user_id=user_id, version=expected or version)

        async def work() -> None:
            await lifecycle.update_rows(session, actor, [change])
            if new.active is not None and new.active != enabled:
                await lifecycle.enable_user(session, actor, user_id, new.active)
            if new.password:
                await credentials.reset_user_password(
                    session, scim.passwords, actor, user_id, new.password, new.password
                )

        _ok(await run_write(session, work), if_match=expected is not None)
        user = await _reread(session, user_id)
        rel = await related(session, [user])
        ctx = (
            Context.RESOURCE_PATCH_RESPONSE
            if request.method == "PATCH"
            else Context.RESOURCE_REPLACEMENT_RESPONSE
        )
        return _answer(request, user, 200, ctx, parameters, rel)


def _ok(outcome: Outcome[Any], *, if_match: bool = False) -> None:
    """An atomic write's refusal as a SCIM error (its rows' errors are the outcome's)."""
    if outcome.errors:
        raise from_user_errors(outcome.errors, ERRORS, if_match=if_match)


async def _visible(session: AsyncSession, principal: Principal, request: Request) -> m.User:
    """The user the path names, if the caller may see them (another unit's is not found)."""
    raw = request.path_params["id"]
    pk = pk_of("User", raw)
    user = None
    if pk is not None:
        user = await session.scalar(users_query(principal, UserFilter()).where(m.User.id == pk))
    if user is None:
        raise ScimError(404, f"No user {raw!r}.")
    return user


async def _reread(session: AsyncSession, user_id: int) -> m.User:
    user = await session.get(m.User, user_id, populate_existing=True)
    if user is None:
        raise ScimError(404, "The user was deleted meanwhile.")
    return user


def _answer(request: Request, user: m.User, status: int, ctx: Context, parameters: Any, rel: Any) -> Response:
    rendered = resource(user, rel, base_url(request))
    headers = {"ETag": etag(user.version)}
    if status == 201:
        headers["Location"] = str(rendered.meta.location if rendered.meta else "")
    return scim_json(rendered, status, headers=headers, ctx=ctx, parameters=parameters)
