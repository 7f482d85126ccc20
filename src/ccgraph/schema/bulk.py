"""Many users at once: lists in the request, or a CSV/XLSX file (GraphQL multipart request)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import FieldChange, as_field_changes
from ccgraph.schema.users.inputs import UserCreateInput, UserUpdateInput
from ccgraph.schema.users.types import User
from ccgraph.services.bulk.imports import ImportMode
from ccgraph.services.bulk.tables import FileFormat

strawberry.enum(FileFormat, name="FileFormat")
strawberry.enum(
    ImportMode,
    name="ImportMode",
    description="CREATE new users, UPDATE existing ones (by username), or both.",
)
ATOMIC = "true: one bad row and nothing is written. false: the good rows are, the bad ones reported."
MAX_ROWS = 1000


@strawberry.input(description=f"Up to {MAX_ROWS} users, checked as `userCreate` checks one.")
class UsersCreateInput:
    users: list[UserCreateInput]
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    validate_only: bool = False
    business_unit_id: relay.GlobalID | None = None


@strawberry.input(description=f"Up to {MAX_ROWS} partial updates, checked as `userUpdate` checks one.")
class UsersUpdateInput:
    users: list[UserUpdateInput]
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    validate_only: bool = False


@strawberry.input
class UsersImportInput:
    file: Upload
    format: FileFormat
    mode: ImportMode = ImportMode.CREATE
    atomic: bool = strawberry.field(default=True, description=ATOMIC)
    validate_only: bool = False
    business_unit_id: relay.GlobalID | None = None


PASSWORD_RESET_NEEDED = (
    "True when this row created a user without a password: nobody can sign in as them until "
    "`userPasswordReset` sets one. Only a file's rows under a security profile that does not "
    "generate random passwords do (a file carries no passwords); under one that does, the "
    "new user is mailed a generated password and must change it at first sign-in."
)

ROW_CHANGES = "What changed on this row's user (with `validateOnly`: what would change), as on `UserPayload`."


@strawberry.type
class UserRowResult:
    row: int = strawberry.field(description="1 for the first user of the list.")
    user: User | None
    password_reset_needed: bool = strawberry.field(description=PASSWORD_RESET_NEEDED)
    user_errors: list[UserError]
    audited: strawberry.Private[dict[str, Any]] = strawberry.field(default_factory=dict)

    @strawberry.field(description=ROW_CHANGES)
    def changes(self) -> list[FieldChange]:
        return as_field_changes(self.audited)


@strawberry.type
class UsersPayload:
    results: list[UserRowResult]
    user_errors: list[UserError] = strawberry.field(
        description="All rows' errors, and errors of the call itself."
    )


@strawberry.type(description="A problem with one cell or row of a file.")
class ImportError:
    column: str | None
    code: str
    message: str


@strawberry.type
class ImportRowResult:
    row: int = strawberry.field(description="The row number in the file; the header is row 1.")
    action: str | None = strawberry.field(description="created, updated or unchanged; null when refused.")
    user: User | None
    password_reset_needed: bool = strawberry.field(description=PASSWORD_RESET_NEEDED)
    errors: list[ImportError]
    audited: strawberry.Private[dict[str, Any]] = strawberry.field(default_factory=dict)

    @strawberry.field(description=ROW_CHANGES)
    def changes(self) -> list[FieldChange]:
        return as_field_changes(self.audited)


@strawberry.type
class UsersImportPayload:
    results: list[ImportRowResult]
    created: int
    updated: int
    unchanged: int
    failed: int
    user_errors: list[UserError] = strawberry.field(description="Problems with the file as a whole.")


@strawberry.type(description="A file to save: its bytes in base64.")
class ExportedFile:
    filename: str
    content_type: str
    base64: str
    rows: int
