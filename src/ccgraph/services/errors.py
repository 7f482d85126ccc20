"""The one shape of an error a caller can fix: which input field, a stable code, a message."""

from __future__ import annotations

from dataclasses import dataclass


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
