from __future__ import annotations

from datetime import datetime

import strawberry

from ccgraph.schema.errors import UserError
from ccgraph.schema.users.types import User


@strawberry.input
class LoginInput:
    username: str
    password: str
    otp: str | None = strawberry.field(
        default=None, description="The current TOTP code, when the user has MFA enabled."
    )


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        description="Send it as 'Authorization: Bearer <token>'. Shown once; only a hash is kept."
    )
    expires_at: datetime | None
    viewer: User | None
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool
    user_errors: list[UserError]
