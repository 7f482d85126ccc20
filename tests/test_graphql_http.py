"""GraphQL over HTTP as the specification and the common clients have it: the media type a
client accepts, 4xx without `data` for a request that cannot execute (to clients of the
specification's type), every refusal a GraphQL JSON body with a code, Apollo's automatic
persisted queries, trusted documents, and CORS that the common clients pass."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ccgraph.app import create_app
from ccgraph.config import ConfigError, check
from ccgraph.db import models as m

pytestmark = pytest.mark.transport

SPEC = "application/graphql-response+json"
TYPENAME = "{ __typename }"


def digest(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document: str, *, sent: bool = False, version: int = 1) -> dict:
    body: dict = {"extensions": {"persistedQuery": {"version": version, "sha256Hash": digest(document)}}}
    if sent:
        body["query"] = document
    return body


async def post(api, body: dict, accept: str | None = None) -> httpx.Response:
    headers = {"accept": accept} if accept else {}
    return await api.client.post("/graphql", json=body, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


# -- content negotiation and status codes --------------------------------------------------------


async def test_a_client_that_accepts_the_specification_s_type_gets_it(api, admin):
    response = await post(api, {"query": TYPENAME}, f"{SPEC}, application/json;q=0.9")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SPEC)
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", f"{SPEC};q=0, application/json"])
async def test_everyone_else_gets_json_as_before(api, admin, accept):
    response = await post(api, {"query": TYPENAME}, accept)
    assert response.headers["content-type"] == "application/json"
    parse_failure = await post(api, {"query": "{"}, accept)
    assert parse_failure.status_code == 200  # application/json: a well-formed request is a 200
    assert parse_failure.json()["data"] is None and codes(parse_failure) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($n: Int!) { users(first: $n) { totalCount } }", "variables": {"n": "ten"}},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_a_request_that_cannot_execute_is_a_400_without_data(api, admin, body, code):
    response = await post(api, body, SPEC)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(SPEC)
    assert "data" not in response.json() and codes(response) == [code]


async def test_an_error_while_executing_keeps_its_data_and_its_200(api, admin):
    """A field that fails (no permission) is a partial result, not a request error."""
    response = await post(api, {"query": "{ __typename users { totalCount } }"}, SPEC)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and codes(response) == ["UNAUTHENTICATED"]


async def test_a_malformed_id_is_bad_user_input(api, admin):
    token = await api.login("admin", "admin-password-123")
    response = await api.client.post(
        "/graphql",
        json={"query": '{ node(id: "garbage") { id } }'},
        headers={"authorization": f"Bearer {token}"},
    )
    assert codes(response) == ["BAD_USER_INPUT"]


async def test_transport_refusals_are_graphql_errors_with_codes(api, admin):
    mutation_over_get = await api.client.get("/graphql", params={"query": "mutation { logout { ok } }"})
    assert mutation_over_get.status_code == 405 and mutation_over_get.headers["allow"] == "POST"
    assert codes(mutation_over_get) == ["OPERATION_NOT_SUPPORTED"]
    batch = await api.client.post("/graphql", json=[{"query": TYPENAME}])
    assert batch.status_code == 400 and codes(batch) == ["BAD_REQUEST"]
    media = await api.client.post("/graphql", content="{}", headers={"content-type": "text/plain"})
    assert media.status_code == 415 and codes(media) == ["UNSUPPORTED_MEDIA_TYPE"]
    not_json = await api.client.post("/graphql", content="{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and codes(not_json) == ["BAD_REQUEST"]
    for refused in (mutation_over_get, batch, media, not_json):
        assert refused.headers["content-type"] == "application/json" and "data" not in refused.json()
    spec = await api.client.get(
        "/graphql", params={"query": "mutation { logout { ok } }"}, headers={"accept": SPEC}
    )
    assert spec.status_code == 405 and spec.headers["content-type"].startswith(SPEC)


# -- automatic persisted queries ---------------------------------------------------------------


async def test_apq_miss_register_hit(api, admin, db):
    miss = await post(api, apq(TYPENAME))
    assert miss.status_code == 200 and codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo's link reads
    assert (await post(api, apq(TYPENAME), SPEC)).status_code == 400

    registered = await post(api, apq(TYPENAME, sent=True))
    assert registered.json() == {"data": {"__typename": "Query"}}
    assert (await db.scalar(select(m.PersistedQuery.document))) == TYPENAME

    hit = await post(api, apq(TYPENAME))
    assert hit.json() == {"data": {"__typename": "Query"}}
    over_get = await api.client.get(
        "/graphql", params={"extensions": json.dumps(apq(TYPENAME)["extensions"])}
    )
    assert over_get.json() == {"data": {"__typename": "Query"}}
    by_document_id = await post(api, {"documentId": f"sha256:{digest(TYPENAME)}"})
    assert by_document_id.json() == {"data": {"__typename": "Query"}}


async def test_a_hash_registered_through_one_worker_is_found_by_another(app, settings, api, admin):
    await post(api, apq(TYPENAME, sent=True))
    other = create_app(settings)  # another worker: its own memory, the same database
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            hit = await client.post("/graphql", json=apq(TYPENAME))
    assert hit.json() == {"data": {"__typename": "Query"}}


async def test_apq_refuses_a_wrong_hash_and_keeps_nothing_that_did_not_run(api, admin, db):
    wrong = await post(api, {**apq("{ viewer { id } }"), "query": TYPENAME})
    assert wrong.status_code == 400 and codes(wrong) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    invalid = await post(api, apq("{ nope }", sent=True))
    assert codes(invalid) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await db.scalar(select(func.count()).select_from(m.PersistedQuery)) == 0
    version = await post(api, apq(TYPENAME, version=2))
    assert version.status_code == 400 and codes(version) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


class TestBoundedStore:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(persisted_queries_max=2)

    async def test_beyond_the_limit_the_oldest_document_goes(self, api, admin, db):
        documents = ["{ __typename }", "{ a: __typename }", "{ b: __typename }"]
        for document in documents:
            assert "errors" not in (await post(api, apq(document, sent=True))).json()
        kept = set((await db.scalars(select(m.PersistedQuery.document))).all())
        assert kept == set(documents[1:])


# -- trusted documents ---------------------------------------------------------------------------

TRUSTED = "query Me { viewer { username } }"


@pytest.fixture(params=["codegen", "apollo"])
def manifest(request, tmp_path):
    path = tmp_path / "persisted-documents.json"
    if request.param == "codegen":
        path.write_text(json.dumps({digest(TRUSTED): TRUSTED, digest(TYPENAME): TYPENAME}))
    else:
        operations = [
            {"id": digest(d), "body": d, "name": "Me", "type": "query"} for d in (TRUSTED, TYPENAME)
        ]
        path.write_text(
            json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})
        )
    return path


class TestTrustedDocuments:
    @pytest.fixture
    def settings(self, settings, manifest):
        return settings.with_(trusted_documents=str(manifest))

    async def test_only_the_manifest_s_operations_run(self, api, admin):
        by_hash = await post(api, apq(TYPENAME))
        assert by_hash.json() == {"data": {"__typename": "Query"}}
        by_id = await post(api, {"documentId": f"sha256:{digest(TYPENAME)}"})
        assert by_id.json() == {"data": {"__typename": "Query"}}
        listed_text = await post(api, {"query": TYPENAME})
        assert listed_text.json() == {"data": {"__typename": "Query"}}
        other = await post(api, {"query": "{ a: __typename }"}, SPEC)
        assert other.status_code == 400 and codes(other) == ["PERSISTED_QUERY_NOT_IN_LIST"]
        unknown = await post(api, apq("{ a: __typename }"))
        assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
        registering = await post(api, apq("{ a: __typename }", sent=True))
        assert codes(registering) == ["PERSISTED_QUERY_NOT_FOUND"]  # nothing new is learnt

    async def test_graphiql_is_off(self, api, admin):
        page = await api.client.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()


def test_a_manifest_whose_hash_is_not_its_document_s_is_refused_at_start(tmp_path, settings):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({digest(TYPENAME): "{ a: __typename }"}))
    with pytest.raises(ConfigError, match="CCGRAPH_TRUSTED_DOCUMENTS"):
        check(settings.with_(trusted_documents=str(path)))
    with pytest.raises(ConfigError, match="cannot read"):
        check(settings.with_(trusted_documents=str(tmp_path / "missing.json")))


# -- CORS ------------------------------------------------------------------------------------------


class TestCors:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(cors_origins="https://app.example.com")

    async def test_the_common_clients_pass_the_preflight(self, api, admin):
        headers = (
            "content-type,authorization,apollo-require-preflight,x-apollo-operation-name,"
            "apollographql-client-name,apollographql-client-version,traceparent,tracestate"
        )
        preflight = await api.client.options(
            "/graphql",
            headers={
                "origin": "https://app.example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": headers,
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-max-age"] == "7200"
        answer = await api.client.post(
            "/graphql", json={"query": TYPENAME}, headers={"origin": "https://app.example.com"}
        )
        assert "x-request-id" in answer.headers["access-control-expose-headers"]


# -- the audit -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_graphql_http_audit_passes_every_check():
    """`make http-audit`: graphql-http's own checks against `ccgraph serve`."""
    script = Path(__file__).parent.parent / "scripts" / "graphql_http_audit.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "ok 61 warn 0 error 0", done.stdout
