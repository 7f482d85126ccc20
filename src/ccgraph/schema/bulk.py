"""Many users at once: lists in the request, or a CSV/XLSX file (GraphQL multipart request)."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from ccgraph.schema.descriptions import VALIDATE
from ccgraph.schema.enums import described
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import USER_ERRORS, FieldChange, as_field_changes
from ccgraph.schema.users.inputs import UserCreateInput, UserUpdateInput
from ccgraph.schema.users.types import User
from ccgraph.services.bulk.imports import ImportMode
from ccgraph.services.bulk.tables import FileFormat
from ccgraph.services.errors import ErrorCode

described(
    FileFormat,
    "The kind of spreadsheet file users are imported from or exported to.",
    {FileFormat.CSV: "Comma-separated values, UTF-8.", FileFormat.XLSX: "An Excel workbook."},
)
described(
    ImportMode,
    "CREATE new users, UPDATE existing ones (by username), or both.",
    {
        ImportMode.CREATE: "Create a user from each row; a username that exists is an error.",
        ImportMode.UPDATE: "Change the user with each row's username; an unknown username is an error.",
        ImportMode.UPSERT: "Change the user with the row's username, or create one when there is none.",
    },
)
UNIT = "The business unit the new users join, when not your own (needs EXTERNAL_BUSINESS_UNIT_VIEW)."


class ImportAction(enum.StrEnum):
    """What an import did with a row (the services' words: "created"...)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


described(
    ImportAction,
    "What an import did with a row that it accepted.",
    {
        ImportAction.CREATED: "A new user was created.",
        ImportAction.UPDATED: "An existing user (same username) was changed.",
        ImportAction.UNCHANGED: "An existing user already had these values: nothing was written.",
    },
)
ATOMIC = "true: one bad row and nothing is written. false: the good rows are, the bad ones reported."
MAX_ROWS = 1000


@strawberry.input(description=f"Up to {MAX_ROWS} users, checked as `userCreate` checks one.")
class UsersCreateInput:
    users: list[UserCreateInput] = strawberry.field(description=f"The users to create, at most {MAX_ROWS}.")
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    business_unit_id: relay.GlobalID | None = strawberry.field(default=None, description=UNIT)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description=f"Up to {MAX_ROWS} partial updates, checked as `userUpdate` checks one.")
class UsersUpdateInput:
    users: list[UserUpdateInput] = strawberry.field(description=f"The updates, at most {MAX_ROWS}.")
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(
    description="Users from a CSV or XLSX file with a header row, as `usersImportTemplate` gives it."
)
class UsersImportInput:
    file: Upload = strawberry.field(description="The file, sent as a GraphQL multipart request upload.")
    format: FileFormat = strawberry.field(description="The file's kind.")
    mode: ImportMode = strawberry.field(default=ImportMode.CREATE, description="Create, update, or both.")
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    business_unit_id: relay.GlobalID | None = strawberry.field(default=None, description=UNIT)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)
    import_id: str | None = strawberry.field(
        default=None,
        description="An ID of your choosing (1 to 64 letters, digits or `._:-`) to follow the import by "
        "with the `importProgress` subscription: subscribe first, then send the file.",
    )


PASSWORD_RESET_NEEDED = (
    "True when this row created a user without a password: nobody can sign in as them until "
    "`userPasswordReset` sets one. Only a file's rows under a security profile that does not "
    "generate random passwords do (a file carries no passwords); under one that does, the "
    "new user is mailed a generated password and must change it at first sign-in."
)

ROW_USER = "The user as the row left it (with `validateOnly`: as it would be); null when refused."
ROW_CHANGES = "What changed on this row's user (with `validateOnly`: what would change), as on `UserPayload`."


@strawberry.type(description="What became of one user of the list.")
class UserRowResult:
    row: int = strawberry.field(description="1 for the first user of the list.")
    user: User | None = strawberry.field(description=ROW_USER)
    password_reset_needed: bool = strawberry.field(description=PASSWORD_RESET_NEEDED)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    audited: strawberry.Private[dict[str, Any]] = strawberry.field(default_factory=dict)

    @strawberry.field(description=ROW_CHANGES)
    def changes(self) -> list[FieldChange]:
        return as_field_changes(self.audited)


@strawberry.type(description="The result of a call on many users: one result a user, in order.")
class UsersPayload:
    results: list[UserRowResult] = strawberry.field(description="One result for each user given, in order.")
    user_errors: list[UserError] = strawberry.field(
        description="All rows' errors, and errors of the call itself."
    )


@strawberry.type(description="A problem with one cell or row of a file.")
class ImportError:
    column: str | None = strawberry.field(description="The column's header; null for the row as a whole.")
    code: ErrorCode = strawberry.field(description="What kind of problem it is, for a program to act on.")
    message: str = strawberry.field(description="What is wrong, for a person to read.")


@strawberry.type(description="What became of one row of the file.")
class ImportRowResult:
    row: int = strawberry.field(description="The row number in the file; the header is row 1.")
    action: ImportAction | None = strawberry.field(description="What was done with it; null when refused.")
    user: User | None = strawberry.field(description=ROW_USER)
    password_reset_needed: bool = strawberry.field(description=PASSWORD_RESET_NEEDED)
    errors: list[ImportError] = strawberry.field(
        description="What is wrong with the row; empty when it was taken."
    )
    audited: strawberry.Private[dict[str, Any]] = strawberry.field(default_factory=dict)

    @strawberry.field(description=ROW_CHANGES)
    def changes(self) -> list[FieldChange]:
        return as_field_changes(self.audited)


@strawberry.type(description="The result of an import: one result a row, and the counts.")
class UsersImportPayload:
    results: list[ImportRowResult] = strawberry.field(description="One result for each row, in file order.")
    created: int = strawberry.field(description="Rows that created a user.")
    updated: int = strawberry.field(description="Rows that changed a user.")
    unchanged: int = strawberry.field(description="Rows whose user already had their values.")
    failed: int = strawberry.field(description="Rows refused.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the file as a whole.")


@strawberry.type(description="A file to save: its bytes in base64.")
class ExportedFile:
    filename: str = strawberry.field(description="A name to save the file under.")
    content_type: str = strawberry.field(description="The file's media type, e.g. text/csv.")
    base64: str = strawberry.field(description="The file's bytes, base64-encoded.")
    rows: int = strawberry.field(description="How many users the file holds (not counting the header).")
