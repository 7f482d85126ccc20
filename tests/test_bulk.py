"""Many users at once (NICE 'Manage Multiple Users at Once'): lists, and CSV/XLSX files
uploaded with the GraphQL multipart request spec."""

import base64
import csv
import io
import json

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from ccgraph.db import models as m
from ccgraph.enums import Permission
from tests import factories as f

RESULT = "results { row user { username } userErrors { field code } } userErrors { field code message }"
IMPORT_RESULT = (
    "results { row action user { username } errors { column code message } } "
    "created updated unchanged failed userErrors { field code message }"
)


async def setup(db):
    unit = await db.get(m.BusinessUnit, 1)
    unit.custom_field_1_label = "Marital Status"
    agent = await f.security_profile(db, unit, [Permission.USERS_VIEW], name="Agent")
    await f.named(db, m.Team, unit, "Tier 1")
    await f.named(db, m.Skill, unit, "English")
    await f.named(db, m.Skill, unit, "Spanish")
    await f.queue(db, unit, "VIP")
    await db.commit()
    return agent


async def count(db, model=m.User) -> int:
    value = (await db.execute(select(func.count()).select_from(model))).scalar_one()
    await db.commit()  # end the read, so the next count sees what the API wrote since
    return value


def person(i: int, profile, **extra) -> dict:
    return {
        "username": f"bulk{i}",
        "firstName": "Bulk",
        "lastName": f"User {i}",
        "email": f"bulk{i}@example.com",
        "password": "long-enough-password",
        "passwordConfirmation": "long-enough-password",
        "securityProfileIds": [f.gid("SecurityProfile", profile.id)],
        **extra,
    }


CREATE = f"mutation($i: UsersCreateInput!) {{ usersCreate(input: $i) {{ {RESULT} }} }}"


async def test_users_create_atomic_and_not(admin_api, db):
    profile = await setup(db)
    users = [person(1, profile), person(2, profile, email="nope"), person(3, profile)]
    before = await count(db)
    data = (await admin_api.data(CREATE, {"i": {"users": users}}))["usersCreate"]
    assert [r["userErrors"] for r in data["results"]] == [[], [{"field": ["email"], "code": "INVALID"}], []]
    assert all(r["user"] is None for r in data["results"])
    assert await count(db) == before
    data = (await admin_api.data(CREATE, {"i": {"users": users, "atomic": False}}))["usersCreate"]
    assert [r["user"] and r["user"]["username"] for r in data["results"]] == ["bulk1", None, "bulk3"]
    assert await count(db) == before + 2


async def test_users_create_refuses_more_than_1000(admin_api, db):
    profile = await setup(db)
    data = (await admin_api.data(CREATE, {"i": {"users": [person(i, profile) for i in range(1001)]}}))[
        "usersCreate"
    ]
    assert data["userErrors"][0]["code"] == "TOO_MANY" and data["results"] == []


async def test_users_update_many_with_versions(admin_api, db):
    profile = await setup(db)
    created = (await admin_api.data(CREATE, {"i": {"users": [person(1, profile), person(2, profile)]}}))[
        "usersCreate"
    ]
    ids = [
        (await db.execute(select(m.User.id).where(m.User.username == r["user"]["username"]))).scalar_one()
        for r in created["results"]
    ]
    q = f"mutation($i: UsersUpdateInput!) {{ usersUpdate(input: $i) {{ {RESULT} }} }}"
    data = (
        await admin_api.data(
            q,
            {
                "i": {
                    "users": [
                        {"id": f.gid("User", ids[0]), "version": 1, "city": "Leeds"},
                        {"id": f.gid("User", ids[1]), "version": 7, "city": "York"},
                    ]
                }
            },
        )
    )["usersUpdate"]
    assert data["results"][1]["userErrors"] == [{"field": ["version"], "code": "CONFLICT"}]
    cities = (await db.execute(select(m.User.city).where(m.User.id.in_(ids)))).scalars().all()
    assert cities == [None, None]


async def upload(
    api, content: bytes, fmt: str = "CSV", mode: str = "CREATE", result: str = IMPORT_RESULT, **kw
) -> dict:
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in kw.items())
    operations = {
        "query": f"mutation($file: Upload!) {{ usersImport(input: {{file: $file, format: {fmt}, "
        f"mode: {mode}{extra}}}) {{ {result} }} }}",
        "variables": {"file": None},
    }
    response = await api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users." + fmt.lower(), content, "application/octet-stream")},
        headers={"authorization": f"Bearer {api.token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["usersImport"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = [
    "username",
    "firstName",
    "lastName",
    "email",
    "team",
    "securityProfiles",
    "skills",
    "queues",
    "Marital Status",
    "capacity",
    "phone.type",
]


def rows(n: int, start: int = 1) -> list[list[str]]:
    return [
        [
            f"agent{i}",
            "Agent",
            f"No {i}",
            f"agent{i}@example.com",
            "Tier 1",
            "Agent",
            "English=1;Spanish=5",
            "VIP",
            "Single",
            "40",
            "SOFTPHONE",
        ]
        for i in range(start, start + n)
    ]


async def test_csv_and_xlsx_with_valid_rows_create_the_users(admin_api, db):
    await setup(db)
    data = await upload(admin_api, csv_bytes([HEADER, *rows(3)]))
    assert (data["created"], data["failed"], data["userErrors"]) == (3, 0, [])
    assert [r["row"] for r in data["results"]] == [2, 3, 4]
    data = await upload(admin_api, xlsx_bytes([HEADER, *rows(2, start=10)]), fmt="XLSX")
    assert (data["created"], data["failed"]) == (2, 0)
    user = (await db.execute(select(m.User).where(m.User.username == "agent10"))).scalar_one()
    assert (user.custom_1, user.capacity, user.password_hash) == ("Single", 40, None)
    skills = (
        await db.execute(select(func.count()).select_from(m.UserSkill).where(m.UserSkill.user_id == user.id))
    ).scalar_one()
    assert skills == 2


async def test_one_bad_row_in_atomic_mode_changes_nothing_and_names_row_and_column(admin_api, db):
    await setup(db)
    bad = rows(3)
    bad[1][9] = "lots"  # capacity
    bad[2][4] = "Tier 9"  # team
    before = (await count(db), await count(db, m.AuditEvent))
    data = await upload(admin_api, csv_bytes([HEADER, *bad]))
    assert (await count(db), await count(db, m.AuditEvent)) == before
    errors = {r["row"]: r["errors"] for r in data["results"] if r["errors"]}
    assert errors[3][0]["column"] == "capacity" and errors[4][0]["column"] == "team"
    assert data["created"] == 0 and data["failed"] == 2
    data = await upload(admin_api, csv_bytes([HEADER, *bad]), atomic=False)
    assert (data["created"], data["failed"]) == (1, 2)
    assert await count(db) == before[0] + 1


async def test_service_errors_point_at_the_column(admin_api, db):
    await setup(db)
    bad = rows(1)
    bad[0][3] = "not-an-email"
    data = await upload(admin_api, csv_bytes([HEADER, *bad]))
    assert data["results"][0]["errors"][0]["column"] == "email"


async def test_export_then_import_as_update_changes_nothing(admin_api, db):
    await setup(db)
    await upload(admin_api, csv_bytes([HEADER, *rows(5)]))
    for fmt in ("CSV", "XLSX"):
        exported = (await admin_api.data(f"{{ usersExport(format: {fmt}) {{ filename base64 rows }} }}"))[
            "usersExport"
        ]
        assert exported["rows"] == 6  # the five and the administrator
        versions = dict((await db.execute(select(m.User.username, m.User.version))).all())
        await db.commit()
        events = await count(db, m.AuditEvent)
        data = await upload(admin_api, base64.b64decode(exported["base64"]), fmt=fmt, mode="UPDATE")
        assert (data["unchanged"], data["updated"], data["failed"]) == (6, 0, 0), data
        assert dict((await db.execute(select(m.User.username, m.User.version))).all()) == versions
        assert await count(db, m.AuditEvent) == events


async def test_upsert_updates_known_users_and_creates_new_ones(admin_api, db):
    await setup(db)
    await upload(admin_api, csv_bytes([HEADER, *rows(2)]))
    changed = rows(3)
    changed[0][9] = "55"
    data = await upload(admin_api, csv_bytes([HEADER, *changed]), mode="UPSERT")
    assert [r["action"] for r in data["results"]] == ["UPDATED", "UNCHANGED", "CREATED"]


async def test_template_carries_the_units_labels(admin_api, db):
    await setup(db)
    for fmt in ("CSV", "XLSX"):
        data = await admin_api.data(f"{{ usersImportTemplate(format: {fmt}) {{ base64 contentType }} }}")
        content = base64.b64decode(data["usersImportTemplate"]["base64"])
        header = (
            next(csv.reader(io.StringIO(content.decode())))
            if fmt == "CSV"
            else [c.value for c in next(load_workbook(io.BytesIO(content)).active.iter_rows())]
        )
        assert "Marital Status" in header and "Custom 1" not in header and "skills" in header


@pytest.mark.parametrize("fmt", ["CSV", "XLSX"])
async def test_formula_looking_text_is_exported_quoted_and_imports_back_unchanged(admin_api, db, fmt):
    """OWASP CSV injection: a cell that starts with = + - @ tab or CR is exported with a
    leading quote, so a spreadsheet shows it as text; importing the file takes the quote off."""
    await setup(db)
    values = ['=HYPERLINK("http://evil")', "+1 555", "-2+3", "@SUM(A1)", "=1+1", "'quoted", "plain"]
    made = rows(len(values))
    for row, value in zip(made, values, strict=True):
        row[8] = value
    content = xlsx_bytes([HEADER, *made]) if fmt == "XLSX" else csv_bytes([HEADER, *made])
    assert (await upload(admin_api, content, fmt=fmt))["created"] == len(values)
    stored = dict((await db.execute(select(m.User.username, m.User.custom_1))).all())
    assert [stored[f"agent{i}"] for i in range(1, len(values) + 1)] == values
    query = f"{{ usersExport(format: {fmt}) {{ base64 }} }}"
    exported = base64.b64decode((await admin_api.data(query))["usersExport"]["base64"])
    if fmt == "XLSX":
        sheet = load_workbook(io.BytesIO(exported)).active
        cells = [c for r in sheet.iter_rows() for c in r if isinstance(c.value, str)]
        assert all(c.data_type == "s" for c in cells)
        texts = [c.value for c in cells]
    else:
        texts = [c for r in csv.reader(io.StringIO(exported.decode())) for c in r]
    assert '\'=HYPERLINK("http://evil")' in texts and "''quoted" in texts and "plain" in texts
    assert not any(t.startswith(("=", "+", "-", "@", "\t")) for t in texts)
    await db.execute(update(m.User).where(m.User.username.like("agent%")).values(custom_1="changed"))
    await db.commit()
    data = await upload(admin_api, exported, fmt=fmt, mode="UPDATE")
    assert data["failed"] == 0, data
    db.expire_all()
    stored = dict((await db.execute(select(m.User.username, m.User.custom_1))).all())
    assert [stored[f"agent{i}"] for i in range(1, len(values) + 1)] == values


@pytest.mark.parametrize(
    ("content", "fmt", "code"),
    [
        ("username,firstName\nä,b\n".encode("latin-1"), "CSV", "ENCODING"),
        (b"not a zip at all", "XLSX", "MALFORMED"),
        (b"username,shoeSize\nx,42\n", "CSV", "UNKNOWN_COLUMNS"),
        (b"", "CSV", "EMPTY"),
        (b"firstName\nx\n", "CSV", "MISSING_COLUMNS"),
    ],
)
async def test_malformed_files_are_refused_cleanly(admin_api, db, content, fmt, code):
    await setup(db)
    before = await count(db)
    data = await upload(admin_api, content, fmt=fmt)
    assert data["userErrors"][0]["code"] == code and data["results"] == []
    assert await count(db) == before
