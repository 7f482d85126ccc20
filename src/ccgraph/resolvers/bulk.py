from __future__ import annotations

import base64
from typing import Any

from strawberry import relay
from strawberry.types import Info

from ccgraph.resolvers.users import UserFilter, user_filter
from ccgraph.schema import bulk as b
from ccgraph.schema.errors import UserError
from ccgraph.schema.user_inputs import decode, user_values
from ccgraph.schema.users import User
from ccgraph.services.bulk import columns, imports, tables
from ccgraph.services.errors import UserError as ServiceError
from ccgraph.services.users import checks, lifecycle
from ccgraph.services.users import queries as user_queries
from ccgraph.services.users.lifecycle import target_unit
from ccgraph.services.writes import Rejected


def _too_many(count: int) -> list[UserError]:
    return [
        UserError(
            field=["users"], code="TOO_MANY", message=f"{count} users given; at most {b.MAX_ROWS} a call."
        )
    ]


def _rows(results: list[checks.RowResult] | None) -> list[b.UserRowResult]:
    return [
        b.UserRowResult(
            row=r.index + 1,
            user=User.from_row(r.user) if r.user is not None and not r.errors else None,
            user_errors=UserError.many(r.errors),
        )
        for r in results or []
    ]


async def users_create(info: Info, input: b.UsersCreateInput) -> b.UsersPayload:
    if len(input.users) > b.MAX_ROWS:
        return b.UsersPayload(results=[], user_errors=_too_many(len(input.users)))
    drafts, errors = [], []
    for item in input.users:
        values, problems = user_values(item)
        values |= {
            "username": item.username,
            "first_name": item.first_name,
            "last_name": item.last_name,
            "email": item.email,
        }
        drafts.append(checks.Draft(values, item.password, item.password_confirmation))
        errors.append(problems)
    unit = (
        decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", [])
        if input.business_unit_id
        else None
    )
    if any(errors):
        results = [checks.RowResult(i, errors=e) for i, e in enumerate(errors)]
        return b.UsersPayload(
            results=_rows(results), user_errors=UserError.many(e for r in results for e in r.errors)
        )
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.create_users(
            session,
            ctx.passwords,
            ctx.actor,
            drafts,
            business_unit_id=unit,
            atomic=input.atomic,
            validate_only=input.validate_only,
        )
    return b.UsersPayload(results=_rows(outcome.value), user_errors=UserError.many(outcome.errors))


async def users_update(info: Info, input: b.UsersUpdateInput) -> b.UsersPayload:
    if len(input.users) > b.MAX_ROWS:
        return b.UsersPayload(results=[], user_errors=_too_many(len(input.users)))
    from strawberry import UNSET

    changes, errors = [], []
    for item in input.users:
        values, problems = user_values(item)
        for column in ("username", "first_name", "last_name", "email"):
            if getattr(item, column) is not UNSET:
                values[column] = getattr(item, column)
        user_id = decode(["id"], item.id, "User", problems)
        changes.append(lifecycle.Change(values, user_id=user_id, version=item.version))
        errors.append(problems)
    if any(errors):
        results = [checks.RowResult(i, errors=e) for i, e in enumerate(errors)]
        return b.UsersPayload(
            results=_rows(results), user_errors=UserError.many(e for r in results for e in r.errors)
        )
    ctx = info.context
    async with ctx.write() as session:
        outcome = await lifecycle.update_users(
            session, ctx.actor, changes, atomic=input.atomic, validate_only=input.validate_only
        )
    return b.UsersPayload(results=_rows(outcome.value), user_errors=UserError.many(outcome.errors))


async def _read_upload(upload: Any, limit: int) -> bytes | None:
    content = await upload.read(limit + 1)
    return None if len(content) > limit else content


async def users_import(info: Info, input: b.UsersImportInput) -> b.UsersImportPayload:
    ctx = info.context
    limit = ctx.settings.max_upload_bytes
    content = await _read_upload(input.file, limit)
    if content is None:
        return _import_payload(
            None, [ServiceError(["file"], "TOO_LARGE", f"The file is larger than {limit} bytes.")]
        )
    errors: list = []
    unit = (
        decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", errors)
        if input.business_unit_id
        else None
    )
    if errors:
        return _import_payload(None, errors)
    async with ctx.write() as session:
        outcome = await imports.import_users(
            session,
            ctx.actor,
            content,
            input.format,
            input.mode,
            limits=tables.FileLimits.of(ctx.settings),
            business_unit_id=unit,
            atomic=input.atomic,
            validate_only=input.validate_only,
        )
    return _import_payload(outcome.value, outcome.errors)


def _import_payload(rows: list[imports.RowOutcome] | None, errors: list) -> b.UsersImportPayload:
    rows = rows or []
    count = lambda action: sum(1 for r in rows if r.action == action and not r.errors)  # noqa: E731
    return b.UsersImportPayload(
        results=[
            b.ImportRowResult(
                row=r.row,
                action=None if r.errors else r.action,
                user=User.from_row(r.user) if r.user is not None and not r.errors else None,
                errors=[b.ImportError(column=c, code=code, message=msg) for c, code, msg in r.errors],
            )
            for r in rows
        ],
        created=count("created"),
        updated=count("updated"),
        unchanged=count("unchanged"),
        failed=sum(1 for r in rows if r.errors),
        user_errors=UserError.many(errors),
    )


def _file(name: str, fmt: tables.FileFormat, content: bytes, rows: int) -> b.ExportedFile:
    extension, kind = (
        ("csv", "text/csv") if fmt is tables.FileFormat.CSV else ("xlsx", tables.XLSX_TYPE)
    )
    return b.ExportedFile(
        filename=f"{name}.{extension}",
        content_type=kind,
        base64=base64.b64encode(content).decode(),
        rows=rows,
    )


async def _unit(info: Info, session: Any, business_unit_id: relay.GlobalID | None) -> Any:
    errors: list = []
    unit_id = (
        decode(["businessUnitId"], business_unit_id, "BusinessUnit", errors) if business_unit_id else None
    )
    try:
        return await target_unit(session, info.context.actor, unit_id)
    except Rejected as rejected:
        from ccgraph.schema.errors import bad_input
        from ccgraph.services.errors import InputError

        raise bad_input(InputError("businessUnitId", rejected.errors[0].message)) from None


async def users_import_template(
    info: Info, format: b.FileFormat, business_unit_id: relay.GlobalID | None = None
) -> b.ExportedFile:
    """An empty file with the header row of the unit's import columns."""
    async with info.context.db() as session:
        unit = await _unit(info, session, business_unit_id)
        content = tables.render(columns.headers(unit), [], format)
    return _file("users-template", format, content, 0)


async def users_export(
    info: Info,
    format: b.FileFormat,
    filter: UserFilter | None = None,
    business_unit_id: relay.GlobalID | None = None,
) -> b.ExportedFile:
    """The unit's users (narrowed by `filter`) in the import columns: it imports back unchanged."""
    async with info.context.db() as session:
        unit = await _unit(info, session, business_unit_id)
        stmt = (
            user_queries.users_query(info.context.principal, user_filter(filter))
            .where(user_queries.m.User.business_unit_id == unit.id)
            .order_by(user_queries.m.User.username)
        )
        users = (await session.execute(stmt)).scalars().all()
        rows = await imports.export_rows(session, unit, users)
        header, rows = columns.readable(info.context.principal, columns.headers(unit), rows)
        content = tables.render(header, rows, format)
    return _file("users", format, content, len(rows))
