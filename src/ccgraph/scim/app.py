"""SCIM 2.0 (RFC 7643/7644) at /scim/v2: the face identity providers (Microsoft Entra ID, Okta)
provision users through. It has no rules of its own: who the caller is comes from the same
`caller` as GraphQL, what they may do from the permissions the GraphQL fields declare
(`scim.permissions`), and every write goes through the same use cases (`services.users.lifecycle`,
`services.catalog.writes`), with their checks, authority rule and audit events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from scim2_models import (
    Context,
    ListResponse,
    Meta,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ccgraph.auth.passwords import Passwords
from ccgraph.auth.principal import Principal
from ccgraph.auth.secret_box import SecretBox
from ccgraph.config import Settings
from ccgraph.db.engine import carry_write_gate
from ccgraph.scim.errors import ScimError
from ccgraph.scim.models import CCGRAPH_USER, MAX_RESULTS, POLICY, PROVIDER
from ccgraph.scim.permissions import Action
from ccgraph.scim.responses import scim_json
from ccgraph.services.auth import Unauthenticated
from ccgraph.services.outage import unreachable
from ccgraph.services.writes import Actor

log = logging.getLogger("ccgraph.scim")
Caller = Callable[[Request], Awaitable[Principal | None]]
CHALLENGE = 'Bearer realm="ccgraph"'


@dataclass(frozen=True)
class Scim:
    """What every SCIM endpoint shares: the app's sessions and secrets, and the caller."""

    sessions: async_sessionmaker[AsyncSession]
    passwords: Passwords
    box: SecretBox
    settings: Settings
    write_gate: AbstractAsyncContextManager[Any]
    caller: Caller

    async def authorize(self, request: Request, *actions: Action) -> Principal:
        """The signed-in caller holding what `actions` need: 401 without good credentials,
        403 without the permissions."""
        try:
            principal = await self.caller(request)
        except Unauthenticated as refused:
            challenge = f'{CHALLENGE}, error="invalid_token", error_description="{refused.reason}"'
            raise ScimError(
                401, f"{refused.reason}: {refused}", headers={"WWW-Authenticate": challenge}
            ) from None
        if principal is None:
            raise ScimError(
                401,
                "Authentication required: send `Authorization: Bearer <keyId>:<secret>` (an access key).",
                headers={"WWW-Authenticate": CHALLENGE},
            )
        request.scope.setdefault("state", {})["user"] = principal.username
        if principal.must_change_password:
            raise ScimError(403, "The caller must change their password before anything else.")
        self.require(principal, *actions)
        return principal

    @staticmethod
    def require(principal: Principal, *actions: Action) -> None:
        missing = principal.missing(tuple(dict.fromkeys(p for a in actions for p in a.permissions)))
        if missing:
            raise ScimError(403, f"Requires {', '.join(str(p) for p in missing)}.")

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """The request's session; a writing one carries SQLite's write gate (`Context.write`)."""
        async with self.sessions() as session:
            if write and isinstance(self.write_gate, asyncio.Lock):
                carry_write_gate(session, self.write_gate)
            yield session

    @staticmethod
    def actor(principal: Principal, request: Request) -> Actor:
        return Actor(principal, getattr(request.state, "request_id", None))


def base_url(request: Request) -> str:
    """The service's URL, ".../scim/v2", for `meta.location`."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}".rstrip("/")


async def payload(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from None
    if not isinstance(data, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    refuse_nul(data, "invalidValue")
    return data


def refuse_nul(data: Any, scim_type: str) -> None:
    """No string may hold a NUL (U+0000), as GraphQL refuses it: no database stores one, and
    PostgreSQL fails a query that carries one."""
    if isinstance(data, str):
        if "\x00" in data:
            raise ScimError(400, "Strings may not contain NUL (\\u0000) characters.", scim_type)
    elif isinstance(data, dict):
        for key, value in data.items():
            refuse_nul(key, scim_type)
            refuse_nul(value, scim_type)
    elif isinstance(data, list):
        for value in data:
            refuse_nul(value, scim_type)


def parse(model: Any, data: Any, ctx: Context) -> Any:
    """`data` read as `model` in `ctx` by scim2-models, under ccgraph's tolerance (`POLICY`)."""
    return model.model_validate(data, scim_ctx=ctx, scim_policy=POLICY)


def patch_request(model: Any, data: dict[str, Any]) -> Any:
    """A PatchOp for `model`. Entra removes a member with `{"$ref": null, "value": id}`: a null
    sub-attribute is an unassigned one (RFC 7643 §2.5), not a criterion the member must meet, so
    it is left out of the selection."""
    for operation in data.get("Operations") or []:
        if isinstance(operation, dict) and str(operation.get("op", "")).lower() == "remove":
            value = operation.get("value")
            if isinstance(value, list):
                operation["value"] = [
                    {k: v for k, v in entry.items() if v is not None} if isinstance(entry, dict) else entry
                    for entry in value
                ]
    return parse(PatchOp[model], data, Context.RESOURCE_PATCH_REQUEST)


def response_parameters(model: Any, request: Request) -> ResponseParameters[Any]:
    """`attributes` / `excludedAttributes` from the query string (RFC 7644 §3.9)."""
    wanted = {k: v for k, v in request.query_params.items() if k in ("attributes", "excludedAttributes")}
    return parse(ResponseParameters[model], wanted, Context.RESOURCE_QUERY_REQUEST)


def search_request(model: Any, data: dict[str, Any]) -> SearchRequest[Any]:
    refuse_nul(data, "invalidFilter")  # a query string's; a body's was refused as it was read
    return parse(SearchRequest[model], data, Context.SEARCH_REQUEST)


def page_bounds(search: SearchRequest[Any]) -> tuple[int, int]:
    """1-based `startIndex` (below 1 reads as 1) and `count` (at most MAX_RESULTS, RFC 7644
    §3.4.2.4: a negative count reads as 0)."""
    start = max(search.start_index or 1, 1)
    count = MAX_RESULTS if search.count is None else min(max(search.count, 0), MAX_RESULTS)
    return start, count


def list_response(
    model: Any, total: int, start: int, resources: list[Any], search: SearchRequest[Any]
) -> Response:
    listed = ListResponse[model](
        total_results=total, start_index=start, items_per_page=len(resources), resources=resources
    )
    body = listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search)
    body.setdefault("Resources", [])  # an empty page still lists none, as Entra and Okta read it
    return scim_json(body)


def expected_version(request: Request) -> int | None:
    """The version `If-Match` asks for (`W/"3"`, `"3"`); None without one or with `*`."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ScimError(412, f"If-Match {header!r} is not a version this server gave.")
    return int(tag)


def check_version(request: Request, current: int) -> int | None:
    """412 when `If-Match` names another version than the current one."""
    expected = expected_version(request)
    if expected is not None and expected != current:
        raise ScimError(412, f'The resource is at version W/"{current}", not {request.headers["if-match"]}.')
    return expected


def not_modified(request: Request, tag: str) -> bool:
    return request.headers.get("if-none-match", "").strip() == tag


Handler = Callable[[Scim, Request], Awaitable[Response]]


def endpoint(scim: Scim, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Every refusal as a SCIM Error; an outage as 503, anything unexpected as 500 with the
    request id (details in the log)."""

    async def run(request: Request) -> Response:
        request.scope.setdefault("state", {})["operation"] = f"SCIM {request.method} {request.url.path}"
        try:
            return await handler(scim, request)
        except ScimError as refused:
            return refused.response()
        except SCIMException as refused:
            return ScimError.of(refused).response()
        except ValidationError as invalid:
            return ScimError.invalid(invalid).response()
        except Exception as exc:
            request_id = getattr(request.state, "request_id", None)
            if unreachable(exc):
                log.warning("database unreachable (request id %s): %s", request_id, exc.__class__.__name__)
                return ScimError(503, f"The database cannot be reached (request id {request_id}).").response()
            log.exception("SCIM request failed (request id %s)", request_id)
            return ScimError(500, f"Internal server error (request id {request_id}).").response()

    return run


# -- discovery (RFC 7644 §4): what ccgraph serves, the same for every caller -------------------


async def service_provider_config(_scim: Scim, request: Request) -> Response:
    config = PROVIDER.config
    assert config is not None
    meta = Meta.model_validate(
        {"resourceType": "ServiceProviderConfig", "location": f"{base_url(request)}/ServiceProviderConfig"}
    )
    return scim_json(config.model_copy(update={"meta": meta}))


def _discovered(items: list[Any], kind: str, request: Request) -> list[Any]:
    base = base_url(request)
    return [
        item.model_copy(
            update={
                "meta": Meta.model_validate({"resourceType": kind, "location": f"{base}/{kind}s/{item.id}"})
            }
        )
        for item in items
    ]


async def resource_types(_scim: Scim, request: Request) -> Response:
    return _listing(
        ResourceType, _discovered(list(PROVIDER.resource_types), "ResourceType", request), request
    )


async def schemas(scim: Scim, request: Request) -> Response:
    """The schemas; to a signed-in caller, the ccgraph extension lists the names it may give."""
    from ccgraph.scim.users import choices

    found = list(PROVIDER.schemas)
    try:
        principal = await scim.caller(request)
    except Unauthenticated:
        principal = None
    if principal is not None and not principal.must_change_password:
        async with scim.session() as session:
            names = await choices(session, principal)
        found = [_with_choices(s, names) if str(s.id) == CCGRAPH_USER else s for s in found]
    return _listing(Schema, _discovered(found, "Schema", request), request)


def _with_choices(schema: Schema, names: dict[str, list[str]]) -> Schema:
    attributes = [
        a.model_copy(update={"canonical_values": names[a.name] or None}) if a.name in names else a
        for a in schema.attributes or []
    ]
    return schema.model_copy(update={"attributes": attributes})


def _listing(model: Any, items: list[Any], request: Request) -> Response:
    wanted = request.path_params.get("id")
    if wanted is not None:
        found = [i for i in items if str(i.id) == wanted]
        if not found:
            raise ScimError(404, f"No {model.__name__} {wanted!r}.")
        return scim_json(found[0])
    search = search_request(model, {})
    return list_response(model, len(items), 1, items, search)


async def search_everything(_scim: Scim, _request: Request) -> Response:
    raise ScimError(501, "Search /Users/.search or /Groups/.search: one resource type at a time.")


def scim_app(
    *,
    sessions: async_sessionmaker[AsyncSession],
    passwords: Passwords,
    box: SecretBox,
    settings: Settings,
    write_gate: AbstractAsyncContextManager[Any],
    caller: Caller,
) -> Starlette:
    """The SCIM service, to mount at /scim/v2 next to GraphQL."""
    from ccgraph.scim import group_endpoints as groups
    from ccgraph.scim import user_endpoints as users

    scim = Scim(sessions, passwords, box, settings, write_gate, caller)

    def route(path: str, methods: dict[str, Handler]) -> Route:
        handlers = {method: endpoint(scim, handler) for method, handler in methods.items()}

        async def dispatch(request: Request) -> Response:
            return await handlers[request.method](request)

        return Route(path, dispatch, methods=list(methods))

    async def refused(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = "No such SCIM endpoint." if status == 404 else f"{request.method} is not allowed here."
        return ScimError(status, detail).response()

    return Starlette(
        routes=[
            route("/ServiceProviderConfig", {"GET": service_provider_config}),
            route("/ResourceTypes", {"GET": resource_types}),
            route("/ResourceTypes/{id}", {"GET": resource_types}),
            route("/Schemas", {"GET": schemas}),
            route("/Schemas/{id}", {"GET": schemas}),
            route("/.search", {"POST": search_everything}),
            route("/Users", {"GET": users.search, "POST": users.create}),
            route("/Users/.search", {"POST": users.search}),
            route(
                "/Users/{id}",
                {"GET": users.get, "PUT": users.replace, "PATCH": users.patch, "DELETE": users.delete},
            ),
            route("/Groups", {"GET": groups.search, "POST": groups.create}),
            route("/Groups/.search", {"POST": groups.search}),
            route(
                "/Groups/{id}",
                {"GET": groups.get, "PUT": groups.replace, "PATCH": groups.patch, "DELETE": groups.delete},
            ),
        ],
        exception_handlers={404: refused, 405: refused},
    )
