"""Fuzzing: hypothesis-graphql writes valid queries and mutations from the schema and sends
them, as an administrator, to the live ASGI app over HTTP. Nothing may answer 5xx or with an
unexpected (masked) server error. Bounded: CCGRAPH_FUZZ_EXAMPLES (default 300)."""

import asyncio
import os
import shutil
import time

import graphql
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from ccgraph.app import create_app
from ccgraph.db.engine import session_factory
from ccgraph.schema.schema import build_schema as build_ccgraph_schema
from ccgraph.services.bootstrap import initialize
from ccgraph.services.demo import load_demo
from tests.conftest import ADMIN_PASSWORD, Api, cheap_settings

schema = build_ccgraph_schema()

EXAMPLES = int(os.environ.get("CCGRAPH_FUZZ_EXAMPLES", "300"))
SDL = schema.as_str()
FIELDS = [
    name
    for name in [
        *graphql.build_schema(SDL).query_type.fields,
        *graphql.build_schema(SDL).mutation_type.fields,
    ]
    if name != "usersImport"
]  # file uploads travel as multipart, not in a document
SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
        lambda d: graphql.StringValueNode(value=d.isoformat())
    ),
    "JSON": st.just(graphql.StringValueNode(value="{}")),
    "Upload": st.just(graphql.NullValueNode()),
}


def test_fuzz_the_api_as_an_administrator(sqlite_template, tmp_path):
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    app = create_app(cheap_settings(f"sqlite+aiosqlite:///{path}"))
    figures = {"examples": 0, "errors_returned": 0}
    with asyncio.Runner() as runner:

        async def start():
            await app.router.lifespan_context(app).__aenter__()
            async with session_factory(app.state.engine)() as db:
                await initialize(
                    db, app.state.passwords, admin_username="admin", admin_password=ADMIN_PASSWORD
                )
                await load_demo(db)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fuzz")
            api = Api(client)
            api.token = await api.login("admin", ADMIN_PASSWORD)
            return api

        api = runner.run(start())
        started = time.monotonic()

        @given(from_schema(SDL, fields=FIELDS, custom_scalars=SCALARS))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def send(query: str) -> None:
            response = runner.run(
                api.client.post(
                    "/graphql", json={"query": query}, headers={"authorization": f"Bearer {api.token}"}
                )
            )
            figures["examples"] += 1
            assert response.status_code < 500, (query, response.text[:500])
            body = response.json()
            errors = body.get("errors") or []
            figures["errors_returned"] += bool(errors)
            unexpected = [
                e for e in errors if (e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
            ]
            assert not unexpected, (query, unexpected)

        send()
        print(
            f"\nfuzz: {figures['examples']} examples in {time.monotonic() - started:.1f} s, "
            f"{figures['errors_returned']} answered with GraphQL errors, 0 server errors"
        )
        runner.run(api.client.aclose())
