"""Users in files (NICE 'Manage Multiple Users at Once'): a CSV or XLSX whose header row holds
the columns of `columns.headers`. The same columns serve the template, the export and the
import, so an exported file imports back unchanged. A file carries no passwords: a user
created under a "generate random passwords" profile is mailed a generated one, as by
`userCreate`; any other is created without one and reported as needing a reset."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph import metrics
from ccgraph.auth.passwords import Passwords
from ccgraph.db import models as m
from ccgraph.db.engine import is_dry, refresh_statistics
from ccgraph.services.auth import normalize_username
from ccgraph.services.bulk import cells, columns
from ccgraph.services.bulk.columns import NAMED, NAMED_LISTS, VERSION
from ccgraph.services.bulk.tables import FileFormat, FileLimits, FileProblem, read_table
from ccgraph.services.errors import UserError
from ccgraph.services.users import checks, lifecycle
from ccgraph.services.users.fields import FILE_FIELDS
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

CHUNK_ROWS = 500


class ImportMode(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    UPSERT = "UPSERT"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an import stands: the file's rows read, the rows to write once it is checked, the
    rows done so far (written, or refused as they were written), and of all rows, those written
    and those refused."""

    business_unit_id: int
    read: int
    to_write: int
    done: int
    written: int
    refused: int


@dataclass(slots=True)
class RowOutcome:
    row: int  # the row number in the file (the header is row 1)
    user: m.User | None = None
    action: str | None = None  # "created" | "updated" | "unchanged"
    errors: list[tuple[str | None, str, str]] = field(default_factory=list)  # (column, code, message)
    password_reset_needed: bool = False  # created without a password


async def import_users(
    session: AsyncSession,
    passwords: Passwords,
    actor: Actor,
    content: bytes,
    fmt: FileFormat,
    mode: ImportMode,
    *,
    limits: FileLimits,
    business_unit_id: int | None = None,
    atomic: bool = True,
    validate_only: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> Outcome[list[RowOutcome]]:
    """Create and/or update users from a file, through the same checks as `userCreate` and
    `userUpdate`. Atomic: one bad row and nothing is written; every row's problems are reported.
    `progress` is told where it stands once the file is read and checked, then after each chunk of
    rows written."""
    try:  # parsing is CPU work: off the event loop, and before any write
        header, body = await asyncio.to_thread(read_table, content, fmt, limits)
    except FileProblem as problem:
        return Outcome(None, [UserError(["file"], problem.code, str(problem))])

    try:  # read and check before the write transaction: it then holds the database to write
        plan = await _plan(session, actor, header, body, mode, business_unit_id)
    except Rejected as refused:
        await session.rollback()
        return Outcome(refused.result, refused.errors)
    await session.rollback()
    if atomic and any(o.errors for o in plan.outcomes):
        return _counted(Outcome(plan.outcomes, []), validate_only or is_dry(session))  # all or nothing
    if progress:
        progress(plan.progress(0))
    if not validate_only:  # generated passwords, hashed before the write as create_users does
        plan.hashed = await lifecycle.hash_chosen(
            passwords, [r for _, (_, results) in plan.creates for r in results]
        )
    outcome = await run_write(
        session, lambda: _write(session, actor, plan, atomic, progress), validate_only=validate_only
    )
    if not validate_only and outcome.value is not None and not outcome.errors:
        await refresh_statistics(session, rows=plan.rows)  # a big import: SQLite's planner
    return _counted(outcome, validate_only or is_dry(session))


def _counted(outcome: Outcome[list[RowOutcome]], dry: bool) -> Outcome[list[RowOutcome]]:
    """The rows of an import that ran (not a dry run) count in `ccgraph_import_rows_total`."""
    if not dry:
        metrics.rows_imported(
            "failed" if row.errors else row.action or "skipped" for row in outcome.value or ()
        )
    return outcome


@dataclass(slots=True)
class _Plan:
    """A file read and checked, ready to write: the new users (checked in chunks, as
    `check_rows` checks them) and the changes (checked as they are written)."""

    unit_id: int
    outcomes: list[RowOutcome]
    creates: list[tuple[list[tuple[RowOutcome, dict[str, Any]]], Any]]
    updates: list[tuple[RowOutcome, lifecycle.Change]]
    by_path: dict[str, str]
    hashed: dict[str, str] = field(default_factory=dict)  # the generated passwords' hashes

    @property
    def rows(self) -> int:
        """The rows to write."""
        return sum(len(chunk) for chunk, _ in self.creates) + len(self.updates)

    def progress(self, done: int) -> Progress:
        written = sum(1 for o in self.outcomes if o.user is not None and not o.errors)
        refused = sum(1 for o in self.outcomes if o.errors)
        return Progress(self.unit_id, len(self.outcomes), self.rows, done, written, refused)


async def _plan(
    session: AsyncSession,
    actor: Actor,
    header: list[str],
    body: list[list[str]],
    mode: ImportMode,
    business_unit_id: int | None,
) -> _Plan:
    unit = await lifecycle.target_unit(session, actor, business_unit_id)
    mapping = columns.by_header(unit)
    _check_header(header, mapping)
    names = cells.Names()
    await names.load(session, unit.id)
    outcomes = [RowOutcome(row=i + 2) for i in range(len(body))]
    parsed = [_parsed(o, header, row, mapping, names) for o, row in zip(outcomes, body, strict=True)]
    creates, updates = await _creates_and_updates(session, outcomes, parsed, mode)
    by_path = columns.headers_by_path(unit)
    checked = await _check_creates(session, actor, unit, creates, by_path)
    return _Plan(unit.id, outcomes, checked, updates, by_path)


def _check_header(header: list[str], mapping: dict[str, str]) -> None:
    unknown = [h for h in header if h not in mapping]
    if unknown:
        raise Rejected(
            [
                UserError(
                    ["file"],
                    "UNKNOWN_COLUMNS",
                    f"Unknown columns: {', '.join(unknown)}. "
                    "Download the template for the columns this business unit accepts.",
                )
            ]
        )
    if "username" not in header:
        raise Rejected([UserError(["file"], "MISSING_COLUMNS", "The username column is required.")])


def _parsed(
    outcome: RowOutcome, header: list[str], row: list[str], mapping: dict[str, str], names: cells.Names
) -> dict[str, Any]:
    """The values of one row's cells; a cell that cannot be read is an error of the row."""
    values: dict[str, Any] = {}
    for column_header, text in zip(header, row, strict=False):
        column = mapping[column_header]
        try:
            values[column] = cells.parse(column, text or "", names)
        except ValueError as exc:
            outcome.errors.append((column_header, "INVALID", f"{column_header}: {exc}"))
    return values


async def _creates_and_updates(
    session: AsyncSession, outcomes: list[RowOutcome], parsed: list[dict[str, Any]], mode: ImportMode
) -> tuple[list[tuple[RowOutcome, dict[str, Any]]], list[tuple[RowOutcome, lifecycle.Change]]]:
    """The rows read without problems, as new users or as changes: by the mode and, under
    UPSERT, by whether the username exists."""
    usernames = [normalize_username(v.get("username") or "") for v in parsed]
    existing = await _existing_usernames(session, usernames)
    creates: list[tuple[RowOutcome, dict[str, Any]]] = []
    updates: list[tuple[RowOutcome, lifecycle.Change]] = []
    for outcome, values in zip(outcomes, parsed, strict=True):
        if outcome.errors:
            continue
        exists = normalize_username(values.get("username") or "") in existing
        if mode is ImportMode.CREATE or (mode is ImportMode.UPSERT and not exists):
            values.pop(VERSION, None)
            creates.append((outcome, values))
        else:
            version = values.pop(VERSION, None)
            change = lifecycle.Change(values, username=values.get("username") or "", version=version)
            updates.append((outcome, change))
    return creates, updates


async def _check_creates(
    session: AsyncSession,
    actor: Actor,
    unit: m.BusinessUnit,
    creates: list[tuple[RowOutcome, dict[str, Any]]],
    by_path: dict[str, str],
) -> list[tuple[list[tuple[RowOutcome, dict[str, Any]]], Any]]:
    """The new users checked in chunks, as `check_rows` checks them; a refused row is settled."""
    checked_creates = []
    for start in range(0, len(creates), CHUNK_ROWS):
        chunk = creates[start : start + CHUNK_ROWS]
        drafts = [checks.Draft(v, without_password=True) for _, v in chunk]
        checked = await checks.check_rows(session, actor, unit, drafts)
        for (outcome, _), result in zip(chunk, checked[1], strict=True):
            if result.errors:
                _settle(outcome, result, "created", by_path)
        checked_creates.append((chunk, checked))
    return checked_creates


async def _write(
    session: AsyncSession,
    actor: Actor,
    plan: _Plan,
    atomic: bool,
    progress: Callable[[Progress], None] | None,
) -> list[RowOutcome]:
    """Write the plan inside the write transaction, reporting the rows done as it goes."""
    unit = await session.get_one(m.BusinessUnit, plan.unit_id)  # checked when the plan was made
    done = 0
    for chunk, checked in plan.creates:
        drafts = [checks.Draft(v, without_password=True) for _, v in chunk]
        results = await lifecycle.create_rows(
            session, actor, unit, drafts, checked=checked, hashed=plan.hashed, atomic=False
        )
        for (outcome, _), result in zip(chunk, results, strict=True):
            if not result.errors:  # refusals were reported when the file was checked
                _settle(outcome, result, "created", plan.by_path)
        done += len(chunk)
        if progress:
            progress(plan.progress(done))
    for start in range(0, len(plan.updates), CHUNK_ROWS):
        changes = plan.updates[start : start + CHUNK_ROWS]
        updated = await lifecycle.update_rows(session, actor, [c for _, c in changes], atomic=False)
        for (outcome, _), result in zip(changes, updated, strict=True):
            _settle(outcome, result, "updated", plan.by_path)
        done += len(changes)
        if progress:
            progress(plan.progress(done))
    if atomic and any(o.errors for o in plan.outcomes):
        for outcome in plan.outcomes:  # all or nothing: nothing was written
            outcome.user, outcome.action, outcome.password_reset_needed = None, None, False
        raise Rejected([], result=plan.outcomes)
    return plan.outcomes


def _settle(outcome: RowOutcome, result: checks.RowResult, action: str, by_path: dict[str, str]) -> None:
    if result.errors:
        outcome.errors += [(columns.column_of(e, by_path), e.code, e.message) for e in result.errors]
        return
    outcome.user = result.user
    outcome.action = action if result.changed else "unchanged"
    outcome.password_reset_needed = result.password_reset_needed


async def _existing_usernames(session: AsyncSession, names: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 5000):
        chunk = [n for n in names[start : start + 5000] if n]
        if chunk:
            found.update(
                (await session.execute(select(m.User.username).where(m.User.username.in_(chunk)))).scalars()
            )
    return found


# --- export -----------------------------------------------------------------------------------


async def export_rows(
    session: AsyncSession, unit: m.BusinessUnit, users: Sequence[m.User]
) -> list[list[Any]]:
    """The rows of `users` (all of `unit`) under `columns.headers(unit)`."""
    links = await lifecycle.current_links(session, [u.id for u in users])
    names = cells.Names()
    await names.load(session, unit.id)
    return [_exported(user, links[user.id], names.by_id) for user in users]


def _exported(user: m.User, links: dict[str, Any], names: dict[Any, dict[int, str]]) -> list[Any]:
    row: list[Any] = []
    for f in FILE_FIELDS:
        value = getattr(user, f.column)
        if f.column in NAMED:
            value = names[NAMED[f.column][1]].get(value) if value is not None else None
        row.append(cells.written(f.column, value))
    for key, (_, model) in NAMED_LISTS.items():
        row.append(cells.LIST_SEPARATOR.join(sorted(names[model][i] for i in links[key])))
    skill = names[m.Skill]
    row.append(
        cells.LIST_SEPARATOR.join(
            f"{skill[s]}={p}" for s, p in sorted(links["skills"], key=lambda pair: skill[pair[0]].lower())
        )
    )
    row.append(user.version)
    return row
