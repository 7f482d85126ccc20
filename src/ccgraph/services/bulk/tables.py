"""Tables in files: a CSV or the first sheet of an XLSX read into a header and rows, one row
at a time and within limits, and rows written back out as a file. Cells are text both ways;
what a cell means is the business of `cells` and `columns`."""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ccgraph.config import Settings

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FileFormat(enum.Enum):
    CSV = "CSV"
    XLSX = "XLSX"


class FileProblem(ValueError):
    """The file as a whole cannot be read: too big, not UTF-8, unknown columns..."""

    def __init__(self, code: str, message: str, *, rows_read: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.rows_read = rows_read  # how far reading went before it stopped


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


def read_table(content: bytes, fmt: FileFormat, limits: FileLimits) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a file, read one row at a time up to the limits. CPU-bound:
    callers run it in a worker thread."""
    rows = _read_csv(content) if fmt is FileFormat.CSV else _read_xlsx(content, limits)
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


def _read_csv(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem("ENCODING", f"The file is not UTF-8 text (byte {exc.start}).") from exc
    return csv.reader(io.StringIO(text, newline=""))


def _read_xlsx(content: bytes, limits: FileLimits) -> Iterator[list[str]]:
    """The first sheet's rows, streamed. The workbook is measured from its zip directory first
    (a zip bomb is refused before anything is inflated). openpyxl's own read-only worksheet
    scans a whole sheet that lacks a <dimension> just to size it, and pads the rows a sheet
    skips; its sheet parser, used here directly, yields the rows as it reads them."""
    from openpyxl.worksheet._reader import WorkSheetParser

    _measure(content, limits)
    reader, source = _first_sheet(content)
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


def _measure(content: bytes, limits: FileLimits) -> None:
    """Refuse a workbook that unpacks too big or holds too many sheets, from its zip directory."""
    from zipfile import BadZipFile, ZipFile

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


def _first_sheet(content: bytes) -> tuple[Any, Any]:
    """The workbook's reader and its first sheet's XML, opened."""
    from zipfile import BadZipFile

    from openpyxl.reader.excel import ExcelReader

    try:
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=False)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        _, first = next(iter(reader.parser.find_sheets()))
        return reader, reader.archive.open(first.target)
    except (BadZipFile, KeyError, OSError, ValueError, StopIteration, TypeError) as exc:
        raise FileProblem("MALFORMED", "The file is not an XLSX workbook.") from exc


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- writing files ----------------------------------------------------------------------------


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
    return _render_xlsx(header, rows)


def _render_xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
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
