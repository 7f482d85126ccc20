"""Hardening (OWASP GraphQL cheat sheet): each control, with a request that it refuses."""

import json
import logging

import httpx
import pytest

from ccgraph.app import create_app
from tests.conftest import ADMIN_PASSWORD


def nested(depth: int) -> str:
    inner = "username"
    for _ in range(depth):
        inner = f"manager {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


async def code_of(api, query, **kw) -> str:
    body = await api.post(query, **kw)
    return body["errors"][0]["extensions"]["code"]


async def test_depth_limit(admin_api):
    assert "errors" not in await admin_api.post(nested(8))  # viewer + 8 managers + username = 10
    assert await code_of(admin_api, nested(9)) == "QUERY_TOO_DEEP"


async def test_alias_limit(admin_api):
    ok = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(30)) + " }"
    too_many = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(31)) + " }"
    assert "errors" not in await admin_api.post(ok)
    assert await code_of(admin_api, too_many) == "TOO_MANY_ALIASES"


async def test_token_limit(admin_api):
    query = "{ viewer { " + " ".join(["id"] * 6000) + " } }"
    body = await admin_api.post(query)
    assert "token limit" in body["errors"][0]["message"].lower() or "tokens" in body["errors"][0]["message"]


async def test_cost_limit(admin_api):
    cheap = (
        "{ users(first: 100) { edges { node { username skills(first: 10) { edges { node { name } } } } } } }"
    )
    costly = (
        "{ users(first: 100) { edges { node { username directReports(first: 100) { edges { node { "
        "skills(first: 100) { edges { node { name } } } } } } } } } }"
    )
    assert "errors" not in await admin_api.post(cheap)
    body = await admin_api.post(costly)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert body["errors"][0]["extensions"]["cost"] > body["errors"][0]["extensions"]["limit"]


@pytest.mark.parametrize("args", ["first: 101", "last: 101", "last: 500"])
async def test_page_size_everywhere(admin_api, args):
    assert await code_of(admin_api, f"{{ users({args}) {{ totalCount }} }}") == "BAD_USER_INPUT"
    assert await code_of(admin_api, f"{{ viewer {{ skills({args}) {{ totalCount }} }} }}") == "BAD_USER_INPUT"


async def test_security_headers_on_every_response(api, admin):
    for response in (
        await api.client.get("/healthz"),
        await api.client.post("/graphql", json={"query": "{ viewer { id } }"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"


async def test_a_body_over_the_cap_is_refused(settings):
    app = create_app(settings.with_(max_body_bytes=1000))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        response = await client.post("/graphql", json={"query": "{ viewer { id } }", "pad": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_get_never_runs_a_mutation(admin_api):
    response = await admin_api.client.get(
        "/graphql",
        params={"query": 'mutation { teamCreate(input: {name: "Via GET"}) { team { id } } }'},
        headers={"authorization": f"Bearer {admin_api.token}"},
    )
    assert response.status_code in (400, 405)
    data = await admin_api.data("{ teams { totalCount } }")
    assert data["teams"]["totalCount"] == 0


async def test_the_access_log_is_one_json_line_per_request_without_secrets(api, admin, caplog):
    caplog.set_level(logging.INFO, logger="ccgraph.access")
    await api.post(
        "mutation Login($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }",
        {"u": "admin", "p": ADMIN_PASSWORD},
    )
    token = await api.login("admin", ADMIN_PASSWORD)
    await api.post("query Me { viewer { id } }", token=token)
    lines = [vars(r) for r in caplog.records if r.name == "ccgraph.access"]
    me = next(line for line in lines if line["operation"] == "Me")
    assert me["user"] == "admin" and me["status"] == 200 and me["requestId"] and me["durationMs"] >= 0
    assert next(line for line in lines if line["operation"] == "Login")["user"] is None
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ADMIN_PASSWORD not in text and token not in text


class TestProduction:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(
            env="production", secret_key="prod-key", cors_origins="https://admin.example.com"
        )

    async def test_no_introspection_no_graphiql_no_suggestions(self, app, admin_api):
        body = await admin_api.post("{ __schema { types { name } } }")
        assert "introspection" in body["errors"][0]["message"].lower()
        page = await admin_api.client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code != 200 or "graphiql" not in page.text.lower()
        body = await admin_api.post("{ viewer { usernam } }")
        assert "Did you mean" not in body["errors"][0]["message"]

    async def test_strict_headers(self, admin_api):
        response = await admin_api.client.post("/graphql", json={"query": "{ viewer { id } }"})
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "max-age" in response.headers["strict-transport-security"]

    async def test_cors_only_for_the_configured_origin(self, admin_api):
        allowed = await admin_api.client.options(
            "/graphql",
            headers={"origin": "https://admin.example.com", "access-control-request-method": "POST"},
        )
        other = await admin_api.client.options(
            "/graphql",
            headers={"origin": "https://evil.example.com", "access-control-request-method": "POST"},
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://admin.example.com"
        assert "access-control-allow-origin" not in other.headers


async def test_unexpected_errors_are_masked_with_a_request_id_that_is_in_the_log(
    admin_api, caplog, monkeypatch
):
    from ccgraph.schema.users import types as user_schema

    def broken(values):  # a bug deep inside a resolver
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(user_schema, "channel_values", broken)
    caplog.set_level(logging.ERROR, logger="ccgraph.errors")
    response = await admin_api.client.post(
        "/graphql",
        json={"query": "{ viewer { username channelSettings { dialingPattern } } }"},
        headers={"authorization": f"Bearer {admin_api.token}", "x-request-id": "trace-123"},
    )
    body = response.json()
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "trace-123"}
    assert "hunter2" not in json.dumps(body)
    assert any("trace-123" in r.getMessage() for r in caplog.records)


async def test_concurrent_writes_in_one_process_queue_instead_of_failing(settings):
    """SQLite allows one writer: the process's writers wait their turn at the write gate,
    however short the database's own busy timeout."""
    import asyncio

    from ccgraph.db.engine import session_factory
    from ccgraph.services.bootstrap import initialize

    app = create_app(settings.with_(sqlite_busy_timeout_ms=1))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        async with session_factory(app.state.engine)() as db:
            await initialize(db, app.state.passwords, admin_username="admin", admin_password=ADMIN_PASSWORD)
        token = (
            await client.post(
                "/graphql",
                json={
                    "query": 'mutation { login(input: {username: "admin", '
                    f'password: "{ADMIN_PASSWORD}"}}) {{ token }} }}'
                },
            )
        ).json()
        headers = {"authorization": f"Bearer {token['data']['login']['token']}"}
        responses = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    headers=headers,
                    json={
                        "query": "mutation($n: String!) { teamCreate(input: {name: $n}) { team { id } userErrors { code } } }",
                        "variables": {"n": f"Team {i}"},
                    },
                )
                for i in range(30)
            )
        )
    bodies = [r.json() for r in responses]
    assert all("errors" not in b and b["data"]["teamCreate"]["userErrors"] == [] for b in bodies), bodies
