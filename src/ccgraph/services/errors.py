"""The one shape of an error a caller can fix: which input field, a stable code, a message."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.StrEnum):
    """Every code a `UserError` (and an import's row error) can carry: the stable part of an error,
    for a client to branch on; the message is for people."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    INVALID_ID = "INVALID_ID"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    DUPLICATE = "DUPLICATE"
    TOO_MANY = "TOO_MANY"
    CONFLICT = "CONFLICT"
    IN_USE = "IN_USE"
    READ_ONLY = "READ_ONLY"
    NOT_ALLOWED = "NOT_ALLOWED"
    FEATURE_DISABLED = "FEATURE_DISABLED"
    LIMIT_REACHED = "LIMIT_REACHED"
    NOT_A_DIRECT_REPORT = "NOT_A_DIRECT_REPORT"
    ALREADY_ASSIGNED = "ALREADY_ASSIGNED"
    NOT_ASSIGNED = "NOT_ASSIGNED"
    TARGET_OUTRANKS_ACTOR = "TARGET_OUTRANKS_ACTOR"
    PERMISSION_NOT_HELD = "PERMISSION_NOT_HELD"
    PERMISSION_REQUIRED = "PERMISSION_REQUIRED"
    SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
    EXPIRED = "EXPIRED"
    MASTER_ADMINISTRATOR = "MASTER_ADMINISTRATOR"
    MASTER_ADMINISTRATOR_PROTECTED = "MASTER_ADMINISTRATOR_PROTECTED"
    ADMINISTRATOR_PROFILE_PROTECTED = "ADMINISTRATOR_PROFILE_PROTECTED"
    LAST_ADMINISTRATOR = "LAST_ADMINISTRATOR"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    LOCKED_OUT = "LOCKED_OUT"
    USER_DISABLED = "USER_DISABLED"
    OTP_REQUIRED = "OTP_REQUIRED"
    INVALID_OTP = "INVALID_OTP"
    MFA_ACTIVE = "MFA_ACTIVE"
    NOT_ENROLLING = "NOT_ENROLLING"
    PASSWORD_MISMATCH = "PASSWORD_MISMATCH"
    PASSWORD_POLICY = "PASSWORD_POLICY"
    PASSWORD_REUSED = "PASSWORD_REUSED"
    PASSWORD_NOT_ALLOWED = "PASSWORD_NOT_ALLOWED"
    TOO_LARGE = "TOO_LARGE"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    TOO_MANY_SHEETS = "TOO_MANY_SHEETS"
    MALFORMED = "MALFORMED"
    EMPTY = "EMPTY"
    ENCODING = "ENCODING"
    UNKNOWN_COLUMNS = "UNKNOWN_COLUMNS"
    MISSING_COLUMNS = "MISSING_COLUMNS"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"

    @property
    def description(self) -> str:
        return ERROR_CODE_DESCRIPTIONS[self]


ERROR_CODE_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "A required field is missing or empty.",
    ErrorCode.INVALID: "The field's value breaks a rule stated in its description (format, range, length).",
    ErrorCode.INVALID_ID: "The value is not a global ID of the expected type.",
    ErrorCode.NOT_FOUND: "No object with this ID that the caller can see (in the business unit).",
    ErrorCode.TAKEN: "The name or username is already used by another object.",
    ErrorCode.DUPLICATE: "The same value is given twice in one list or file.",
    ErrorCode.TOO_MANY: "More items than one call accepts.",
    ErrorCode.CONFLICT: "The object changed since it was read (its version differs); reload and retry.",
    ErrorCode.IN_USE: "The object is still referenced elsewhere and cannot be deleted.",
    ErrorCode.READ_ONLY: "A built-in object: this field cannot be changed or the object cannot be deleted.",
    ErrorCode.NOT_ALLOWED: "The action is not allowed on this object (e.g. on oneself).",
    ErrorCode.FEATURE_DISABLED: "The field needs a feature that the business unit has switched off.",
    ErrorCode.LIMIT_REACHED: "A per-user or per-unit limit is reached.",
    ErrorCode.NOT_A_DIRECT_REPORT: "The user does not report to this manager.",
    ErrorCode.ALREADY_ASSIGNED: "The skill is already assigned.",
    ErrorCode.NOT_ASSIGNED: "The skill is not assigned.",
    ErrorCode.TARGET_OUTRANKS_ACTOR: "The target user holds permissions the caller does not.",
    ErrorCode.PERMISSION_NOT_HELD: "The caller cannot grant a permission they do not hold.",
    ErrorCode.PERMISSION_REQUIRED: "Setting this field needs a permission the caller lacks.",
    ErrorCode.SCOPE_NOT_HELD: "An access key's scope names a permission its user does not hold.",
    ErrorCode.EXPIRED: "The object has expired (an access key past its expiry cannot be reactivated).",
    ErrorCode.MASTER_ADMINISTRATOR: "Not available for the master administrator.",
    ErrorCode.MASTER_ADMINISTRATOR_PROTECTED: "Only the master administrator can change themselves.",
    ErrorCode.ADMINISTRATOR_PROFILE_PROTECTED: "The built-in administrator profile cannot be changed.",
    ErrorCode.LAST_ADMINISTRATOR: "The change would leave the business unit without an administrator.",
    ErrorCode.INVALID_CREDENTIALS: "The username or password is wrong.",
    ErrorCode.LOCKED_OUT: "Too many failed sign-ins: try again later.",
    ErrorCode.USER_DISABLED: "The user is disabled.",
    ErrorCode.OTP_REQUIRED: "The user has MFA: send the one-time code too.",
    ErrorCode.INVALID_OTP: "The one-time code is wrong, expired or already used.",
    ErrorCode.MFA_ACTIVE: "MFA is already active.",
    ErrorCode.NOT_ENROLLING: "No MFA enrollment is in progress.",
    ErrorCode.PASSWORD_MISMATCH: "The password and its confirmation differ.",
    ErrorCode.PASSWORD_POLICY: "The password breaks the password policy.",
    ErrorCode.PASSWORD_REUSED: "The new password was used recently.",
    ErrorCode.PASSWORD_NOT_ALLOWED: "A password cannot be given here (e.g. with a generated one).",
    ErrorCode.TOO_LARGE: "The file is larger than allowed.",
    ErrorCode.TOO_MANY_ROWS: "The file has more rows than allowed.",
    ErrorCode.TOO_MANY_SHEETS: "The workbook has more sheets than allowed.",
    ErrorCode.MALFORMED: "The file is not readable in its format.",
    ErrorCode.EMPTY: "The file has no header row.",
    ErrorCode.ENCODING: "The file is not UTF-8 text.",
    ErrorCode.UNKNOWN_COLUMNS: "The file has columns that are not known.",
    ErrorCode.MISSING_COLUMNS: "The file lacks a required column.",
    ErrorCode.URL_NOT_ALLOWED: "A webhook URL that is not http(s), whose host does not resolve, or that "
    "reaches a loopback, private, link-local, multicast or unspecified address.",
}


@dataclass(frozen=True, slots=True)
class UserError:
    field: list[str] | None
    code: str
    message: str


def not_found(field: list[str], what: str) -> UserError:
    return UserError(field, "NOT_FOUND", f"No {what} with this ID in the business unit.")


class InputError(ValueError):
    """Bad arguments to a read (cursor, page size...): surfaces as a GraphQL error naming them."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
