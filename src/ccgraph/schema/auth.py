from __future__ import annotations

from datetime import datetime

import strawberry

from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import USER_ERRORS
from ccgraph.schema.users.types import User


@strawberry.input(description="Sign in with a username and password (and a one-time code with MFA).")
class LoginInput:
    username: str = strawberry.field(description="The name you sign in with.")
    password: str = strawberry.field(description="Your password.")
    otp: str | None = strawberry.field(
        default=None, description="The current TOTP code, when the user has MFA enabled."
    )


@strawberry.type(description="The result of signing in: a session token, or why there is none.")
class LoginPayload:
    token: str | None = strawberry.field(
        description="Send it as 'Authorization: Bearer <token>'. Shown once; only a hash is kept."
    )
    expires_at: datetime | None = strawberry.field(description="When the token stops working.")
    viewer: User | None = strawberry.field(description="The user you are signed in as.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of signing out.")
class LogoutPayload:
    ok: bool = strawberry.field(description="True when the session was ended.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
