"""Errors: `UserError` in payloads for what the caller can fix; GraphQL errors with an
`extensions.code` for what they cannot (authentication, permission, malformed arguments)."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from graphql import GraphQLError

from ccgraph.enums import Permission
from ccgraph.schema.enums import described
from ccgraph.services import errors
from ccgraph.services.errors import ERROR_CODE_DESCRIPTIONS, ErrorCode

described(
    ErrorCode,
    "Why an input was refused: a stable code to branch on (the message is for people).",
    ERROR_CODE_DESCRIPTIONS,
)


@strawberry.type(description="A problem with the input that the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault.")
    code: ErrorCode = strawberry.field(description="What is wrong, as a stable code to branch on.")
    message: str = strawberry.field(description="What is wrong, in words for people; it may change.")

    @classmethod
    def from_service(cls, error: errors.UserError) -> UserError:
        return cls(field=error.field, code=ErrorCode(error.code), message=error.message)

    @classmethod
    def many(cls, found: Iterable[errors.UserError]) -> list[UserError]:
        return [cls.from_service(e) for e in found]


def unauthenticated() -> GraphQLError:
    return GraphQLError(
        "Sign in first: send 'Authorization: Bearer <token>'.",
        extensions={"code": "UNAUTHENTICATED"},
    )


def password_change_required() -> GraphQLError:
    return GraphQLError(
        "Change your password first (viewerPasswordChange).",
        extensions={"code": "PASSWORD_CHANGE_REQUIRED"},
    )


def forbidden(missing: Iterable[Permission]) -> GraphQLError:
    names = [p.value for p in missing]
    return GraphQLError(
        f"Forbidden: this needs the permission {', '.join(names)}.",
        extensions={"code": "FORBIDDEN", "missingPermissions": names},
    )


def bad_input(error: errors.InputError) -> GraphQLError:
    return GraphQLError(str(error), extensions={"code": "BAD_USER_INPUT", "argument": error.argument})
