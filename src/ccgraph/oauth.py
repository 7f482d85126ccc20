"""OAuth 2.0 client credentials (RFC 6749 §4.4) at `/oauth/token`: a partner trades an access
key's id and secret (as `client_id` and `client_secret`, by HTTP Basic or in the form) for a
short-lived bearer token, optionally narrowed by `scope` (permission names separated by
spaces). Authlib speaks the protocol (client authentication, grant and scope checks, error
bodies, the token response); ccgraph supplies the client, which is the access key as
`services.auth` sees it, and keeps the token as a session of the key's user that lives and
dies with the key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from ccgraph.auth import access_keys
from ccgraph.auth.principal import Principal
from ccgraph.auth.tokens import new_token
from ccgraph.config import Settings
from ccgraph.enums import Permission
from ccgraph.services import auth
from ccgraph.services.outage import unreachable

FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Client(ClientMixin):
    """An access key that proved its secret: what it may do now (its user's permissions
    within its scopes) bounds every scope it asks for."""

    key_id: str
    secret: str
    principal: Principal

    def get_client_id(self) -> str:
        return self.key_id

    def check_client_secret(self, client_secret: str) -> bool:
        return access_keys.secret_hash(client_secret) == access_keys.secret_hash(self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post") and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str:
        """No scope asked: all the key may do. A scope beyond it is refused before this."""
        allowed = sorted(p.value for p in self.principal.permissions)
        wanted = scope_to_list(scope) if scope else allowed
        return " ".join(p for p in allowed if p in wanted)


@dataclass(slots=True)
class _Exchange:
    """One token request: its client, found before Authlib runs (the database is async,
    Authlib is not), and the token Authlib made."""

    client: Client | None
    refusal: str | None
    token: dict[str, Any] = field(default_factory=dict)


class _Request(OAuth2Request):
    def __init__(self, request: Request, form: dict[str, str], exchange: _Exchange) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form
        self.exchange = exchange

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _ClientCredentials(grants.ClientCredentialsGrant):
    """RFC 6749 §2.3.1: the credentials by HTTP Basic, or in the form."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _Server(AuthorizationServer):
    """Authlib's authorization server for one token request, whose client is already found."""

    def __init__(self, exchange: _Exchange, ttl: int) -> None:
        super().__init__(scopes_supported=[p.value for p in Permission])
        self.exchange = exchange
        self.register_grant(_ClientCredentials)
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: new_token(), expires_generator=ttl)
        )

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def query_client(self, client_id: str) -> Client | None:
        client = self.exchange.client
        if client is None or client.key_id != client_id:
            description = self.exchange.refusal or "The client does not exist on this server."
            raise InvalidClientError(status_code=401, description=description)
        return client

    def validate_requested_scope(self, scope: str | None) -> None:
        """Known permission names, and only those the key may use now."""
        super().validate_requested_scope(scope)
        client = self.exchange.client
        if scope and client is not None:
            beyond = set(scope_to_list(scope)) - {p.value for p in client.principal.permissions}
            if beyond:
                description = f"Not within the key's permissions: {' '.join(sorted(beyond))}."
                raise InvalidScopeError(description=description)

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        self.exchange.token = token

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        return _answer(status, body, headers)


def _answer(status: int, body: Any, headers: list[tuple[str, str]] = []) -> Response:  # noqa: B006
    return Response(
        json.dumps(body), status_code=status, headers=dict(headers), media_type="application/json"
    )


class TokenEndpoint:
    """`POST /oauth/token`, form-encoded, as RFC 6749 §4.4.2 has it."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.ttl = settings.oauth_token_ttl_seconds

    async def __call__(self, request: Request) -> Response:
        if request.headers.get("content-type", "").partition(";")[0].strip().lower() != FORM:
            return _answer(
                400, {"error": "invalid_request", "error_description": f"Send the form as {FORM}."}
            )
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not form.get("grant_type"):  # §5.2: a missing parameter is invalid_request
            return _answer(400, {"error": "invalid_request", "error_description": "Send grant_type."})
        try:
            exchange = await self._client(request, form)
            token_request = _Request(request, form, exchange)
        except InsecureTransportError as refused:  # plain http, but on the loopback address
            return _answer(400, {"error": "invalid_request", "error_description": refused.description})
        except Exception as exc:
            if not unreachable(exc):
                raise
            description = "The database cannot be reached; try again shortly."
            return _answer(503, {"error": "temporarily_unavailable", "error_description": description})
        response: Response = _Server(exchange, self.ttl).create_token_response(token_request)
        if exchange.token and exchange.client is not None:
            await self._keep(request, exchange)
        return response

    async def _client(self, request: Request, form: dict[str, str]) -> _Exchange:
        """The access key behind the request's credentials, checked as every request's key is."""
        key_id, secret = extract_basic_authorization(request.headers)
        if not key_id:
            key_id, secret = form.get("client_id"), form.get("client_secret")
        if not key_id or not secret:
            return _Exchange(None, None)
        try:
            async with self.sessions() as session:
                principal = await auth.principal_for_access_key(
                    session, key_id, secret, client_address=_address(request)
                )
        except auth.Unauthenticated as refused:
            return _Exchange(None, refused.reason)
        return _Exchange(Client(key_id, secret, principal), None)

    async def _keep(self, request: Request, exchange: _Exchange) -> None:
        assert exchange.client is not None
        async with self.sessions() as session:
            await auth.keep_client_token(
                session,
                exchange.client.principal,
                exchange.token["access_token"],
                scopes=exchange.token.get("scope", "").split(),
                ttl_seconds=self.ttl,
                user_agent=request.headers.get("user-agent"),
                ip_address=_address(request),
            )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
