"""Users in files (NICE 'Manage Multiple Users at Once'): a CSV or XLSX whose header row holds
the columns below, custom fields under their business unit's labels. The same columns serve
the template, the export and the import, so an exported file imports back unchanged.

References are by name (team, user profile, security profiles...), lists are separated by
";", per-channel numbers and skills are written "NAME=number" ("VOICE=30;CHAT=20",
"English=1;Spanish=7"). Imported users get no password: reset it afterwards (under a
"generate random passwords" profile that mails one)."""

from __future__ import annotations

import asyncio
import csv
import enum
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.config import Settings
from ccgraph.db import models as m
from ccgraph.enums import AccessMode, Channel, DeliveryMode, PhoneType
from ccgraph.services import authority
from ccgraph.services.auth import normalize_username
from ccgraph.services.errors import UserError
from ccgraph.services.users import checks, lifecycle
from ccgraph.services.users.fields import FIELDS
from ccgraph.services.writes import Actor, Outcome, Rejected, run_write

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_SEPARATOR = ";"
CHUNK_ROWS = 500


class FileFormat(enum.Enum):
    CSV = "CSV"
    XLSX = "XLSX"


class ImportMode(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    UPSERT = "UPSERT"


class FileProblem(ValueError):
    """The file as a whole cannot be read: too big, not UTF-8, unknown columns..."""

    def __init__(self, code: str, message: str, *, rows_read: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.rows_read = rows_read  # how far reading went before it stopped


# How a column's text becomes a value, and back.
TEXT, INT, BOOL, ENUM, CHANNELS, LIST = "text", "int", "bool", "enum", "channels", "list"
ENUMS = {"access_mode": AccessMode, "phone_type": PhoneType, "osh_delivery_mode": DeliveryMode}
KINDS = {
    "capacity": INT,
    "version": INT,
    "agent_voice_threshold": INT,
    "concurrent_chats": INT,
    "auto_parked_emails": INT,
    "osh_total_contact_count": INT,
    "auto_accept_calls": BOOL,
    "suppress_ringing": BOOL,
    "request_contact": BOOL,
    "max_release_preview": BOOL,
    "wfm_notify_email": BOOL,
    "wfm_notify_sms": BOOL,
    "wfm_notify_in_app": BOOL,
    "refusal_timeouts": CHANNELS,
    "osh_max_contacts": CHANNELS,
    "wfo_phones": LIST,
    **dict.fromkeys(ENUMS, ENUM),
}
# Columns that name another object instead of holding an ID: column -> (model, name attribute).
NAMED = {
    "team_id": ("team", m.Team, "name"),
    "manager_id": ("manager", m.User, "username"),
    "user_profile_id": ("userProfile", m.UserProfile, "name"),
    "default_presence_id": ("defaultPresence", m.PresenceStatus, "name"),
}
NAMED_LISTS = {
    "security_profile_ids": ("securityProfiles", m.SecurityProfile),
    "queue_ids": ("queues", m.Queue),
    "work_stream_ids": ("workStreams", m.WorkStream),
}
VERSION = "version"


def headers(unit: m.BusinessUnit) -> list[str]:
    """The columns, in order; custom fields under the unit's labels."""
    labels = unit.custom_field_labels()
    out = []
    for f in FIELDS:
        if f.column.startswith("custom_"):
            out.append(labels[int(f.column[-1]) - 1])
        elif f.column in NAMED:
            out.append(NAMED[f.column][0])
        else:
            out.append(".".join(f.api_path))
    return out + [h for h, _ in NAMED_LISTS.values()] + ["skills", VERSION]


def _columns(unit: m.BusinessUnit) -> dict[str, str]:
    """header -> user column (or collection key)."""
    names = headers(unit)
    mapping = dict(zip(names, [f.column for f in FIELDS], strict=False))
    mapping |= {h: key for key, (h, _) in NAMED_LISTS.items()}
    mapping |= {"skills": "skills", VERSION: VERSION}
    return mapping


# --- formulas ---------------------------------------------------------------------------------

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"), and the quote that marks
# such a text as text. Export puts the quote before it; import takes it off, so the value
# round-trips; a text that starts with the quote itself gets one more, for the same reason.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def escape(value: Any) -> Any:
    if isinstance(value, str) and value.startswith((*FORMULA_START, QUOTE)):
        return QUOTE + value
    return value


def unescape(text: str) -> str:
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_START, QUOTE)):
        return text[1:]
    return text


# --- reading files ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileLimits:
    """What a file may make the server read. Rows are counted while they are read, never
    after; a workbook is measured from its zip directory before anything is inflated."""

    rows: int = 10_000
    unzipped_bytes: int = 100 * 1024 * 1024
    sheets: int = 50
    columns: int = 256

    @classmethod
    def of(cls, settings: Settings) -> FileLimits:
        return cls(rows=settings.max_import_rows, unzipped_bytes=settings.max_import_unzipped_bytes)


def read_table(content: bytes, fmt: FileFormat, limits: FileLimits) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a file, read one row at a time up to the limits. CPU-bound:
    callers run it in a worker thread."""
    if fmt is FileFormat.CSV:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileProblem("ENCODING", f"The file is not UTF-8 text (byte {exc.start}).") from exc
        rows: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""))
    else:
        rows = _read_xlsx(content, limits)
    taken: list[list[str]] = []
    read = 0
    try:
        for row in rows:
            read += 1
            if not any((c or "").strip() for c in row):
                if read > 2 * limits.rows:  # blank rows count too, or a file of them never ends
                    raise FileProblem("TOO_MANY_ROWS", "The file has too many blank rows.", rows_read=read)
                continue
            if len(taken) > limits.rows:  # the header and one row too many: stop reading
                raise FileProblem(
                    "TOO_MANY_ROWS",
                    f"The file has more than {limits.rows} rows; at most {limits.rows} are accepted.",
                    rows_read=len(taken),
                )
            taken.append([unescape(c) for c in row[: limits.columns]])
    except csv.Error as exc:
        raise FileProblem("MALFORMED", f"The file is not readable CSV: {exc}.") from exc
    if not taken:
        raise FileProblem("EMPTY", "The file has no header row.")
    header, body = [h.strip() for h in taken[0]], taken[1:]
    return header, body


def _read_xlsx(content: bytes, limits: FileLimits) -> Iterator[list[str]]:
    """The first sheet's rows, streamed. The workbook is measured from its zip directory first
    (a zip bomb is refused before anything is inflated). openpyxl's own read-only worksheet
    scans a whole sheet that lacks a <dimension> just to size it, and pads the rows a sheet
    skips; its sheet parser, used here directly, yields the rows as it reads them."""
    from zipfile import BadZipFile, ZipFile

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._reader import WorkSheetParser

    try:
        with ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (BadZipFile, OSError, ValueError) as exc:
        raise FileProblem("MALFORMED", "The file is not an XLSX workbook.") from exc
    unzipped = sum(e.file_size for e in entries)
    if unzipped > limits.unzipped_bytes:
        raise FileProblem(
            "TOO_LARGE",
            f"The workbook unpacks to {unzipped} bytes; at most {limits.unzipped_bytes} are accepted.",
        )
    sheets = sum(1 for e in entries if re.fullmatch(r"xl/worksheets/[^/]+\.xml", e.filename))
    if sheets > limits.sheets:
        raise FileProblem("TOO_MANY_SHEETS", f"The workbook has {sheets} sheets; at most {limits.sheets}.")
    try:
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=False)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        _, first = next(iter(reader.parser.find_sheets()))
        source = reader.archive.open(first.target)
    except (BadZipFile, KeyError, OSError, ValueError, StopIteration, TypeError) as exc:
        raise FileProblem("MALFORMED", "The file is not an XLSX workbook.") from exc
    # data_only=False: a formula arrives as its text ("=SUM(A1)") and is stored as text.
    parser = WorkSheetParser(source, reader.shared_strings, data_only=False)
    try:
        for _, cells in parser.parse():
            row: list[str] = []
            for cell in cells:
                column, value = cell["column"], cell["value"]
                if column > limits.columns or value is None:
                    continue
                row.extend([""] * (column - 1 - len(row)))
                row.append(_cell_text(value))
            yield row
    except (KeyError, ValueError, TypeError, SyntaxError) as exc:  # ParseError is a SyntaxError
        raise FileProblem("MALFORMED", "The workbook's sheet is not readable.") from exc
    finally:
        source.close()
        reader.archive.close()


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(slots=True)
class RowOutcome:
    row: int  # the row number in the file (the header is row 1)
    user: m.User | None = None
    action: str | None = None  # "created" | "updated" | "unchanged"
    errors: list[tuple[str | None, str, str]] = field(default_factory=list)  # (column, code, message)


class _Names:
    """Names of a unit's objects, to turn file text into IDs: one statement per kind."""

    def __init__(self) -> None:
        self.by_name: dict[Any, dict[str, int]] = {}

    async def load(self, session: AsyncSession, unit_id: int) -> None:
        for model, attr in [(mdl, a) for _, mdl, a in NAMED.values()] + [
            (mdl, "name") for _, mdl in NAMED_LISTS.values()
        ]:
            if model in self.by_name:
                continue
            column = getattr(model, attr)
            rows = await session.execute(select(column, model.id).where(model.business_unit_id == unit_id))
            self.by_name[model] = {str(k).lower(): v for k, v in rows.all()}
        rows = await session.execute(
            select(m.Skill.name, m.Skill.id).where(m.Skill.business_unit_id == unit_id)
        )
        self.by_name[m.Skill] = {k.lower(): v for k, v in rows.all()}

    def id_of(self, model: Any, name: str) -> int | None:
        return self.by_name[model].get(name.strip().lower())


def _parse_cell(column: str, text: str, names: _Names) -> Any:
    """The value of one cell; raises ValueError with what is wrong."""
    text = text.strip()
    if column in NAMED:
        if not text:
            return None
        _, model, _ = NAMED[column]
        found = names.id_of(model, text if model is not m.User else normalize_username(text))
        if found is None:
            raise ValueError(f"no {NAMED[column][0]} named {text!r} in the business unit")
        return found
    if column in NAMED_LISTS:
        header, model = NAMED_LISTS[column]
        ids = []
        for part in filter(None, (p.strip() for p in text.split(LIST_SEPARATOR))):
            found = names.id_of(model, part)
            if found is None:
                raise ValueError(f"no {header[:-1]} named {part!r} in the business unit")
            ids.append(found)
        return ids
    if column == "skills":
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(LIST_SEPARATOR))):
            name, _, level = part.rpartition("=")
            found = names.id_of(m.Skill, name)
            if not name or found is None:
                raise ValueError(
                    f"no skill named {name or part!r} in the business unit (write Name=proficiency)"
                )
            pairs.append((found, _int(level)))
        return pairs
    kind = KINDS.get(column, TEXT)
    if not text:
        return {CHANNELS: {}, LIST: []}.get(kind, False if kind == BOOL else None)
    if kind == INT:
        return _int(text)
    if kind == BOOL:
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "y"):
            return True
        if lowered in ("false", "no", "0", "n"):
            return False
        raise ValueError("must be true or false")
    if kind == ENUM:
        try:
            return ENUMS[column](text.upper())
        except ValueError:
            raise ValueError(f"must be one of {', '.join(e.value for e in ENUMS[column])}") from None
    if kind == CHANNELS:
        values = {}
        for part in filter(None, (p.strip() for p in text.split(LIST_SEPARATOR))):
            channel, _, number = part.partition("=")
            if channel.strip().upper() not in Channel.__members__:
                raise ValueError(f"{channel!r} is not a channel ({', '.join(Channel.__members__)})")
            values[channel.strip().upper()] = _int(number)
        return values
    if kind == LIST:
        return [p.strip() for p in text.split(LIST_SEPARATOR) if p.strip()]
    return text


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a whole number") from None


def _column_of(error: UserError, headers_by_path: dict[str, str]) -> str | None:
    """The file column a service error's input path points at."""
    if not error.field:
        return None
    path = error.field
    key = ".".join(path)
    for candidate in (key, ".".join(path[:2]), path[0]):
        if candidate in headers_by_path:
            return headers_by_path[candidate]
    return path[0]


def _headers_by_path(unit: m.BusinessUnit) -> dict[str, str]:
    names = headers(unit)
    out = {}
    for f, header in zip(FIELDS, names, strict=False):
        out[".".join(f.api_path)] = header
    out |= {
        "securityProfileIds": "securityProfiles",
        "queueIds": "queues",
        "workStreamIds": "workStreams",
        "skills": "skills",
        "version": VERSION,
        "id": "username",
    }
    for slot in range(1, 6):
        out[f"customFields.{slot}"] = names[[f.column for f in FIELDS].index(f"custom_{slot}")]
    return out


async def import_users(
    session: AsyncSession,
    actor: Actor,
    content: bytes,
    fmt: FileFormat,
    mode: ImportMode,
    *,
    limits: FileLimits,
    business_unit_id: int | None = None,
    atomic: bool = True,
    validate_only: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Outcome[list[RowOutcome]]:
    """Create and/or update users from a file, through the same checks as `userCreate` and
    `userUpdate`. Atomic: one bad row and nothing is written; every row's problems are reported."""
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
    outcomes = plan.outcomes
    if atomic and any(o.errors for o in outcomes):
        return Outcome(outcomes, [])  # all or nothing: nothing is written

    async def work() -> list[RowOutcome]:
        unit = await session.get(m.BusinessUnit, plan.unit_id)
        done = 0
        for chunk, checked in plan.creates:
            drafts = [checks.Draft(v, without_password=True) for _, v in chunk]
            results = await lifecycle.create_rows(session, actor, unit, drafts, checked=checked, atomic=False)
            for (outcome, _), result in zip(chunk, results, strict=True):
                if not result.errors:  # refusals were reported when the file was checked
                    _settle(outcome, result, "created", plan.by_path)
            done += len(chunk)
            if progress:
                progress(done)
        for start in range(0, len(plan.updates), CHUNK_ROWS):
            chunk = plan.updates[start : start + CHUNK_ROWS]
            results = await lifecycle.update_rows(session, actor, [c for _, c in chunk], atomic=False)
            for (outcome, _), result in zip(chunk, results, strict=True):
                _settle(outcome, result, "updated", plan.by_path)
            done += len(chunk)
            if progress:
                progress(done)
        if atomic and any(o.errors for o in outcomes):
            for outcome in outcomes:  # all or nothing: nothing was written
                outcome.user, outcome.action = None, None
            raise Rejected([], result=outcomes)
        return outcomes

    return await run_write(session, work, validate_only=validate_only)


@dataclass(slots=True)
class _Plan:
    """A file read and checked, ready to write: the new users (checked in chunks, as
    `check_rows` checks them) and the changes (checked as they are written)."""

    unit_id: int
    outcomes: list[RowOutcome]
    creates: list[tuple[list[tuple[RowOutcome, dict[str, Any]]], Any]]
    updates: list[tuple[RowOutcome, lifecycle.Change]]
    by_path: dict[str, str]


async def _plan(
    session: AsyncSession,
    actor: Actor,
    header: list[str],
    body: list[list[str]],
    mode: ImportMode,
    business_unit_id: int | None,
) -> _Plan:
    unit = await lifecycle.target_unit(session, actor, business_unit_id)
    mapping = _columns(unit)
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
    names = _Names()
    await names.load(session, unit.id)
    outcomes = [RowOutcome(row=i + 2) for i in range(len(body))]
    parsed: list[dict[str, Any]] = []
    for outcome, cells in zip(outcomes, body, strict=True):
        values: dict[str, Any] = {}
        for column_header, text in zip(header, cells, strict=False):
            column = mapping[column_header]
            try:
                values[column] = _parse_cell(column, text or "", names)
            except ValueError as exc:
                outcome.errors.append((column_header, "INVALID", f"{column_header}: {exc}"))
        parsed.append(values)
    usernames = [normalize_username(v.get("username") or "") for v in parsed]
    existing = await _existing_usernames(session, usernames)
    by_path = _headers_by_path(unit)
    creates, updates = [], []
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
    checked_creates = []
    for start in range(0, len(creates), CHUNK_ROWS):
        chunk = creates[start : start + CHUNK_ROWS]
        drafts = [checks.Draft(v, without_password=True) for _, v in chunk]
        checked = await checks.check_rows(session, actor, unit, drafts)
        for (outcome, _), result in zip(chunk, checked[1], strict=True):
            if result.errors:
                _settle(outcome, result, "created", by_path)
        checked_creates.append((chunk, checked))
    return _Plan(unit.id, outcomes, checked_creates, updates, by_path)


def _settle(outcome: RowOutcome, result: checks.RowResult, action: str, by_path: dict[str, str]) -> None:
    if result.errors:
        outcome.errors += [(_column_of(e, by_path), e.code, e.message) for e in result.errors]
        return
    outcome.user = result.user
    outcome.action = action if result.changed else "unchanged"


async def _existing_usernames(session: AsyncSession, names: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 5000):
        chunk = [n for n in names[start : start + 5000] if n]
        if chunk:
            found.update(
                (await session.execute(select(m.User.username).where(m.User.username.in_(chunk)))).scalars()
            )
    return found


# --- writing files ----------------------------------------------------------------------------


async def export_rows(
    session: AsyncSession, unit: m.BusinessUnit, users: Sequence[m.User]
) -> list[list[Any]]:
    """The rows of `users` (all of `unit`) under `headers(unit)`."""
    ids = [u.id for u in users]
    links = await lifecycle.current_links(session, ids)
    names: dict[Any, dict[int, str]] = {}
    for model, attr in (
        [(mdl, a) for _, mdl, a in NAMED.values()]
        + [(mdl, "name") for _, mdl in NAMED_LISTS.values()]
        + [(m.Skill, "name")]
    ):
        rows = await session.execute(
            select(model.id, getattr(model, attr)).where(model.business_unit_id == unit.id)
        )
        names[model] = dict(rows.all())
    out = []
    for user in users:
        row: list[Any] = []
        for f in FIELDS:
            value = getattr(user, f.column)
            if f.column in NAMED:
                value = names[NAMED[f.column][1]].get(value) if value is not None else None
            row.append(_cell_out(f.column, value))
        for key, (_, model) in NAMED_LISTS.items():
            row.append(LIST_SEPARATOR.join(sorted(names[model][i] for i in links[user.id][key])))
        row.append(
            LIST_SEPARATOR.join(
                f"{names[m.Skill][s]}={p}"
                for s, p in sorted(links[user.id]["skills"], key=lambda pair: names[m.Skill][pair[0]].lower())
            )
        )
        row.append(user.version)
        out.append(row)
    return out


def _cell_out(column: str, value: Any) -> Any:
    kind = KINDS.get(column, TEXT)
    if value is None:
        return ""
    if kind == BOOL:
        return "true" if value else "false"
    if kind == CHANNELS:
        return LIST_SEPARATOR.join(f"{k}={v}" for k, v in sorted(value.items()))
    if kind == LIST:
        return LIST_SEPARATOR.join(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


# Columns that name objects of a guarded kind, with the model whose read permission they need.
NAMING = (
    {column: model for column, (_, model, _) in NAMED.items()}
    | {column: model for column, (_, model) in NAMED_LISTS.items()}
    | {"skills": m.Skill}
)


def readable(
    principal: Principal, header: list[str], rows: list[list[Any]]
) -> tuple[list[str], list[list[Any]]]:
    """The export without the columns that name objects the reader may not see (a team's name
    needs TEAMS_VIEW as `User.team` does); importing it back leaves those columns as they are."""
    columns = [f.column for f in FIELDS] + list(NAMED_LISTS) + ["skills", VERSION]
    keep = [
        i
        for i, column in enumerate(columns)
        if column not in NAMING or authority.readable(principal, authority.READ[NAMING[column]])
    ]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]


def render(header: list[str], rows: list[list[Any]], fmt: FileFormat) -> bytes:
    """A file of `rows` under `header`; text that a spreadsheet would run as a formula is
    quoted as text (`escape`), in every cell, header included."""
    header = [escape(h) for h in header]
    rows = [[escape(v) for v in row] for row in rows]
    if fmt is FileFormat.CSV:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Users")
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
