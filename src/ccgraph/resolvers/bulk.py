"""Many users at once: lists in the request, or a CSV/XLSX file; the import template and the
export; the root fields of this domain."""

from __future__ import annotations

import base64
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ccgraph import live
from ccgraph.enums import Permission as P
from ccgraph.resolvers.common import selects_changes, write
from ccgraph.schema import bulk as b
from ccgraph.schema.errors import UserError
from ccgraph.schema.node import decode
from ccgraph.schema.permissions import requires
from ccgraph.schema.users.inputs import UserFilter, user_filter, user_values
from ccgraph.schema.users.types import User
from ccgraph.services.bulk import columns, imports, tables
from ccgraph.services.errors import ErrorCode
from ccgraph.services.errors import UserError as ServiceError
from ccgraph.services.users import checks, lifecycle
from ccgraph.services.users import queries as user_queries
from ccgraph.services.users.lifecycle import target_unit
from ccgraph.services.writes import Outcome, Rejected


def _users_payload(outcome: Outcome) -> b.UsersPayload:
    return b.UsersPayload(
        results=[
            b.UserRowResult(
                row=r.index + 1,
                user=User.from_row(r.user) if r.user is not None and not r.errors else None,
                password_reset_needed=r.password_reset_needed,
                user_errors=UserError.many(r.errors),
                audited=outcome.changes_of("User", r.user.id) if r.user is not None and not r.errors else {},
            )
            for r in outcome.value or []
        ],
        user_errors=UserError.many(outcome.errors),
    )


def _refused(count: int, errors: list[list[ServiceError]]) -> b.UsersPayload | None:
    """The answer when the rows cannot go to the use case at all: too many, or IDs in them
    that are not IDs (each reported on its row); else None."""
    if count > b.MAX_ROWS:
        message = f"{count} users given; at most {b.MAX_ROWS} a call."
        return _users_payload(Outcome(None, [ServiceError(["users"], "TOO_MANY", message)]))
    if any(errors):
        results = [checks.RowResult(i, errors=e) for i, e in enumerate(errors)]
        return _users_payload(Outcome(results, [e for r in results for e in r.errors]))
    return None


async def users_create(info: Info, input: b.UsersCreateInput) -> b.UsersPayload:
    drafts, errors = [], []
    for item in input.users[: b.MAX_ROWS]:
        values, problems = user_values(item)
        drafts.append(checks.Draft(values, item.password, item.password_confirmation))
        errors.append(problems)
    unit_errors: list[ServiceError] = []
    unit = (
        decode(["businessUnitId"], input.business_unit_id, "BusinessUnit", unit_errors)
        if input.business_unit_id
        else None
    )
    refused = _refused(len(input.users), errors)
    if refused is not None:
        return refused
    return await write(
        info,
        unit_errors,
        lambda session, ctx: lifecycle.create_users(
            session,
            ctx.passwords,
            ctx.actor,
            drafts,
            business_unit_id=unit,
            atomic=input.atomic,
            validate_only=input.validate_only,
        ),
        _users_payload,
    )


async def users_update(info: Info, input: b.UsersUpdateInput) -> b.UsersPayload:
    changes, errors = [], []
    for item in input.users[: b.MAX_ROWS]:
        values, problems = user_values(item)
        user_id = decode(["id"], item.id, "User", problems)
        changes.append(lifecycle.Change(values, user_id=user_id, version=item.version))
        errors.append(problems)
    refused = _refused(len(input.users), errors)
    if refused is not None:
        return refused
    return await write(
        info,
        [],
        lambda session, ctx: lifecycle.update_users(
            session, ctx.actor, changes, atomic=input.atomic, validate_only=input.validate_only
        ),
        _users_payload,
    )


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
    reporter = None
    if input.import_id is not None:  # followed by the importProgress subscription
        broker = live.broker_of(ctx.request)
        reporter = live.import_reporter(broker, input.import_id, ctx.actor.principal.user_id, errors)
    if errors:
        return _import_payload(None, errors)
    async with ctx.write(dry=input.validate_only, changes=selects_changes(info)) as session:
        outcome = await imports.import_users(
            session,
            ctx.passwords,
            ctx.actor,
            content,
            input.format,
            input.mode,
            limits=tables.FileLimits.of(ctx.settings),
            business_unit_id=unit,
            atomic=input.atomic,
            validate_only=input.validate_only,
            progress=reporter,
        )
    if reporter is not None:
        reporter.finish(outcome.value, bool(outcome.errors), input.validate_only)
    return _import_payload(outcome.value, outcome.errors, outcome)


def _import_payload(
    rows: list[imports.RowOutcome] | None, errors: list, outcome: Outcome | None = None
) -> b.UsersImportPayload:
    rows = rows or []
    written = outcome or Outcome()
    count = lambda action: sum(1 for r in rows if r.action == action and not r.errors)  # noqa: E731
    return b.UsersImportPayload(
        results=[
            b.ImportRowResult(
                row=r.row,
                action=None if r.errors or r.action is None else b.ImportAction(r.action),
                user=User.from_row(r.user) if r.user is not None and not r.errors else None,
                password_reset_needed=r.password_reset_needed,
                errors=[b.ImportError(column=c, code=ErrorCode(k), message=msg) for c, k, msg in r.errors],
                audited=written.changes_of("User", r.user.id) if r.user is not None and not r.errors else {},
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
    extension, kind = ("csv", "text/csv") if fmt is tables.FileFormat.CSV else ("xlsx", tables.XLSX_TYPE)
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


@strawberry.type
class Query:
    users_import_template = strawberry.field(
        resolver=users_import_template,
        extensions=[requires(P.USERS_CREATE)],
        description="An empty CSV/XLSX with the import columns of the unit (custom fields under its labels).",
    )
    users_export = strawberry.field(
        resolver=users_export,
        extensions=[requires(P.USERS_VIEW)],
        description="The unit's users in the import columns; the file imports back unchanged.",
    )


@strawberry.type
class Mutation:
    users_create = strawberry.mutation(
        resolver=users_create,
        extensions=[requires(P.USERS_CREATE)],
        description="Create up to 1,000 users with one call, each checked as userCreate checks one.",
    )
    users_update = strawberry.mutation(
        resolver=users_update,
        extensions=[requires(P.USERS_EDIT)],
        description="Update up to 1,000 users with one call, each checked as userUpdate checks one.",
    )
    users_import = strawberry.mutation(
        resolver=users_import,
        extensions=[requires(P.USERS_CREATE, P.USERS_EDIT)],
        description="Create and/or update users from an uploaded CSV or XLSX (GraphQL multipart request).",
    )
