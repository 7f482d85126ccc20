"""Nothing a request sends can stall, crash or corrupt the server: each of the reproductions
(a fragment bomb, overflowing page sizes, broken bodies, forged cursors, NUL bytes, huge and
bomb-like files, concurrent sign-ins, a database outage, formula cells) answered in JSON with
its own code, counted rather than timed."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import random
import zipfile

import httpx
import pytest
from graphql import TypeInfo, ValidationContext, parse
from sqlalchemy import func, select

from ccgraph.app import create_app
from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.execution.limits import _Measure
from ccgraph.schema.schema import build_schema as build_ccgraph_schema
from ccgraph.services.bulk import tables
from tests import factories as f
from tests.conftest import cheap_settings

schema = build_ccgraph_schema()


def fragment_bomb(levels: int) -> str:
    fragments = ["fragment F0 on Query { viewer { id } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


def test_the_query_analysis_visits_each_fragment_once():
    for levels in (5, 21, 300):
        document = parse(fragment_bomb(levels))
        context = ValidationContext(schema._schema, document, TypeInfo(schema._schema), lambda _e: None)
        measure = _Measure(context)
        depth, cost, _ = measure.walk(document.definitions[0].selection_set, schema._schema.query_type)
        # one visit per fragment's selection and per field's: linear in the document
        assert measure.visits == levels + 3, levels
        assert cost == min(2**levels * 2, 10**15) and depth == 2


async def test_an_anonymous_fragment_bomb_is_refused_by_cost(api):
    body = await api.post(fragment_bomb(21), token="")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]


async def test_page_sizes_beyond_any_integer_are_refused_in_json(api):
    huge = await api.client.post(
        "/graphql", json={"query": "{ users(first: 99999999999999999999) { totalCount } }"}
    )
    assert huge.headers["content-type"].startswith("application/json")
    codes = {e["extensions"]["code"] for e in huge.json()["errors"]}
    assert codes == {"QUERY_TOO_COSTLY", "GRAPHQL_VALIDATION_FAILED"}
    nested = "{ users(first: 2147483647) { edges { node { skills(first: 2147483647) { edges { node { users(first: 2147483647) { totalCount } } } } } } } }"
    body = (await api.client.post("/graphql", json={"query": nested})).json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert body["errors"][0]["extensions"]["cost"] <= 10**15  # saturated: it still encodes
    variable = await api.client.post(
        "/graphql",
        json={"query": "query($n: Int) { users(first: $n) { totalCount } }", "variables": {"n": 2**40}},
    )
    assert variable.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "BAD_REQUEST"),
        (b'{"query": "{ viewer { id } }", "x": "\xff\xfe"}', "BAD_REQUEST"),
        (b"null", "BAD_REQUEST"),
        (b'"a string"', "BAD_REQUEST"),
        (b"42", "BAD_REQUEST"),
        (b"[1]", "BAD_REQUEST"),
        (b'{"query": 5}', "BAD_REQUEST"),
        (
            b'{"query": "query($a: String) { viewer { id } }", "variables": {"a": "x\\u0000y"}}',
            "BAD_USER_INPUT",
        ),
        (b"{not json", "BAD_REQUEST"),
    ],
)
async def test_a_body_the_server_cannot_run_is_a_json_4xx_with_a_code_and_request_id(api, body, code):
    response = await api.client.post(
        "/graphql", content=body, headers={"content-type": "application/json", "x-request-id": "req-1"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": code, "requestId": "req-1"}
    assert response.headers["x-request-id"] == "req-1"


async def test_an_unsupported_content_type_is_415_in_json(api):
    response = await api.client.post("/graphql", content=b"{}", headers={"content-type": "text/plain"})
    assert (response.status_code, response.json()["errors"][0]["extensions"]["code"]) == (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )


@pytest.mark.parametrize(
    "forged", [[{"a": 1}, 1], ["a", 1e30], [1, 1], ["a", 2**70], ["a\x00", 1], "x", [None]]
)
async def test_a_forged_cursor_is_bad_user_input(admin_api, forged):
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    body = await admin_api.post("query($c: String) { users(after: $c) { totalCount } }", {"c": cursor})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_nul_byte_is_refused_before_the_database_and_never_logged(api, admin, caplog):
    caplog.set_level(logging.DEBUG)
    literal = await api.post(
        'mutation { login(input: {username: "ad\\u0000min", password: "pw-secret-x"}) { token } }'
    )
    assert literal["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = await api.client.post(
        "/graphql",
        json={
            "query": 'mutation($u: String!) { login(input: {username: $u, password: "pw-secret-x"}) { token } }',
            "variables": {"u": "ad\x00min-secret"},
        },
    )
    assert response.status_code == 400
    assert "min-secret" not in caplog.text and "pw-secret-x" not in caplog.text


def xlsx_with_rows(count: int) -> bytes:
    """A workbook of `count` rows, written as XML: small on disk, large unpacked."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(head.encode())
            row = b'<row><c t="inlineStr"><is><t>user</t></is></c></row>'
            for _ in range(count // 10_000):
                sheet.write(row * 10_000)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def test_a_million_row_workbook_is_refused_without_reading_past_the_limit():
    content = xlsx_with_rows(1_000_000)
    assert len(content) < 10 * 1024 * 1024  # it passes the upload limit: rows must stop it
    limits = tables.FileLimits(rows=10_000)
    with pytest.raises(tables.FileProblem) as refused:
        tables.read_table(content, tables.FileFormat.XLSX, limits)
    assert refused.value.code == "TOO_MANY_ROWS"
    assert refused.value.rows_read == limits.rows + 1  # the header and the rows allowed, no more
    with pytest.raises(tables.FileProblem) as refused:
        tables.read_table(b"username\n" + b"x\n" * 5_000_000, tables.FileFormat.CSV, limits)
    assert (refused.value.code, refused.value.rows_read) == ("TOO_MANY_ROWS", limits.rows + 1)


def test_a_zip_bomb_is_refused_from_its_directory(monkeypatch):
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as sheet,
    ):
        for _ in range(64):
            sheet.write(b" " * (1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    opened = []
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: opened.append(1))
    with pytest.raises(tables.FileProblem) as refused:
        tables.read_table(
            buffer.getvalue(),
            tables.FileFormat.XLSX,
            tables.FileLimits(unzipped_bytes=32 * 1024 * 1024),
        )
    assert refused.value.code == "TOO_LARGE" and opened == []
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(60):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", "<worksheet/>")
    with pytest.raises(tables.FileProblem) as refused:
        tables.read_table(many.getvalue(), tables.FileFormat.XLSX, tables.FileLimits())
    assert refused.value.code == "TOO_MANY_SHEETS" and opened == []


async def test_forty_concurrent_wrong_sign_ins_give_exactly_the_threshold(api, admin, settings):
    mutation = (
        'mutation { login(input: {username: "admin", password: "wrong-password-1"}) { userErrors { code } } }'
    )
    answers = await asyncio.gather(*(api.post(mutation, token="") for _ in range(40)))
    codes = [a["data"]["login"]["userErrors"][0]["code"] for a in answers]
    assert codes.count("INVALID_CREDENTIALS") == settings.lockout_threshold
    assert codes.count("LOCKED_OUT") == 40 - settings.lockout_threshold


async def test_one_totp_code_signs_in_once_however_many_try_it_at_once(app, api, admin, db):
    import pyotp

    from ccgraph.auth import totp

    unit = await db.get(m.BusinessUnit, 1)
    user = await f.user(db, unit, "agent", password="agent-password-1", passwords=app.state.passwords)
    secret = totp.new_secret()
    user.mfa_secret_encrypted = app.state.box.seal(secret)
    user.mfa_enabled = True
    await db.commit()
    code = pyotp.TOTP(secret).now()
    mutation = (
        'mutation($o: String) { login(input: {username: "agent", password: "agent-password-1", otp: $o}) '
        "{ token userErrors { code } } }"
    )
    answers = await asyncio.gather(*(api.post(mutation, {"o": code}, token="") for _ in range(8)))
    assert "errors" not in str(answers)
    tokens = [a["data"]["login"]["token"] for a in answers if a["data"]["login"]["token"]]
    refused = [
        a["data"]["login"]["userErrors"][0]["code"] for a in answers if not a["data"]["login"]["token"]
    ]
    assert len(tokens) == 1 and refused == ["INVALID_OTP"] * 7


@pytest.mark.parametrize(
    "url",
    ["sqlite+aiosqlite:////nonexistent/dir/ccgraph.db", "postgresql+asyncpg://postgres@127.0.0.1:1/test"],
)
async def test_a_database_outage_is_a_503_in_json_and_health_stays_up(url):
    app = create_app(cheap_settings(url, mail_poll_seconds=0, db_connect_timeout_seconds=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            signed = await client.post(
                "/graphql",
                json={"query": "{ viewer { id } }"},
                headers={"authorization": "Bearer some-token", "x-request-id": "outage-1"},
            )
            assert signed.status_code == 503
            assert signed.json()["errors"][0]["extensions"] == {
                "code": "SERVICE_UNAVAILABLE",
                "requestId": "outage-1",
            }
            anonymous = await client.post(
                "/graphql",
                json={"query": 'mutation { login(input: {username: "a", password: "b"}) { token } }'},
            )
            assert anonymous.status_code == 503
            assert anonymous.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_passwords_are_hashed_outside_the_write_gate_and_a_dry_run_never_takes_it(
    app, admin_api, db, monkeypatch
):
    gate = app.state.write_gate
    if not isinstance(gate, asyncio.Lock):
        pytest.skip("PostgreSQL writers need no gate: rows lock, not the database")
    held_while_hashing, taken = [], []
    hash_many = app.state.passwords.hash_many

    async def watched_hash(passwords: list[str]) -> list[str]:
        held_while_hashing.append(gate.locked())
        return await hash_many(passwords)

    acquire = gate.acquire

    async def counted_acquire() -> bool:
        taken.append(1)
        return await acquire()

    monkeypatch.setattr(app.state.passwords, "hash_many", watched_hash)
    monkeypatch.setattr(gate, "acquire", counted_acquire)
    unit = await db.get(m.BusinessUnit, 1)
    profile = await f.security_profile(db, unit, [Permission.USERS_VIEW], name="Plain")
    await db.commit()
    users = [
        {
            "username": f"bulk{i}",
            "firstName": "Bulk",
            "lastName": str(i),
            "email": f"bulk{i}@example.com",
            "securityProfileIds": [f.gid("SecurityProfile", profile.id)],
            "password": "bulk-password-12",
            "passwordConfirmation": "bulk-password-12",
        }
        for i in range(20)
    ]
    mutation = "mutation($i: UsersCreateInput!) { usersCreate(input: $i) { userErrors { code } } }"
    dry = await admin_api.data(mutation, {"i": {"users": users, "validateOnly": True}})
    assert dry["usersCreate"]["userErrors"] == [] and taken == [] and held_while_hashing == []
    done = await admin_api.data(mutation, {"i": {"users": users}})
    assert done["usersCreate"]["userErrors"] == []
    assert held_while_hashing == [False]  # hashed once, for the batch, with the gate free
    assert taken == [1]  # one write transaction
    assert (await db.execute(select(func.count()).where(m.User.username.like("bulk%")))).scalar_one() == 20


async def test_an_import_reports_rows_beyond_the_limit_without_writing(app, admin_api, db):
    content = b"username,firstName\n" + b"".join(
        b"u%d,F\n" % i for i in range(app.state.settings.max_import_rows + 5)
    )
    operations = {
        "query": "mutation($file: Upload!) { usersImport(input: {file: $file, format: CSV, mode: CREATE}) "
        "{ userErrors { field code } } }",
        "variables": {"file": None},
    }
    response = await admin_api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", content, "text/csv")},
        headers={"authorization": f"Bearer {admin_api.token}"},
    )
    assert response.json()["data"]["usersImport"]["userErrors"] == [
        {"field": ["file"], "code": "TOO_MANY_ROWS"}
    ]
    assert (await db.execute(select(func.count()).select_from(m.User))).scalar_one() == 1


async def test_random_bodies_never_get_a_server_error(api):
    """Bytes of every kind, and valid requests cut or bent at random: each answer is JSON,
    and a 4xx or a 200, never a 5xx."""
    rng = random.Random(15)
    valid = json.dumps({"query": "query($n: Int) { users(first: $n) { totalCount } }", "variables": {"n": 5}})
    bodies = [rng.randbytes(rng.randrange(0, 64)) for _ in range(100)]
    for _ in range(100):
        cut = list(valid.encode())
        for _ in range(rng.randrange(1, 4)):
            cut[rng.randrange(len(cut))] = rng.randrange(256)
        bodies.append(bytes(cut[: rng.randrange(1, len(cut) + 1)]))
    for body in bodies:
        response = await api.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code < 500, (body, response.text)
        assert response.headers["content-type"].startswith("application/json"), (body, response.text)
