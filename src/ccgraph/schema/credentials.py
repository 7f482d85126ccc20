"""Credentials as the API shows them: access keys (never their secret after creation) and
sign-in sessions; and the inputs and payloads of the credential mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.descriptions import VALIDATE
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import USER_ERRORS
from ccgraph.schema.users.inputs import PASSWORD, PASSWORD_CONFIRMATION


@strawberry.type(description="A signed-in session.")
class Session(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime = strawberry.field(description="When the session was signed in.")
    last_seen_at: datetime = strawberry.field(description="To the minute.")
    expires_at: datetime = strawberry.field(description="When the session ends unless it is used again.")
    user_agent: str | None = strawberry.field(description="The browser or client that signed in.")
    ip_address: str | None = strawberry.field(description="The address the session signed in from.")
    current: bool = strawberry.field(description="The session this request was made with.")

    @classmethod
    def from_row(cls, row: m.Session, current_session_id: int | None = None) -> Session:
        return cls(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip_address=row.ip_address,
            current=row.id == current_session_id,
        )


@strawberry.input(description="Set a user's password; they must change it at their next sign-in.")
class UserPasswordResetInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    password: str | None = strawberry.field(default=None, description=PASSWORD)
    password_confirmation: str | None = strawberry.field(default=None, description=PASSWORD_CONFIRMATION)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="Change your own password.")
class ViewerPasswordChangeInput:
    current_password: str = strawberry.field(description="Your password now.")
    new_password: str = strawberry.field(
        description="The new password; it must meet your security profiles' password policy."
    )
    new_password_confirmation: str = strawberry.field(description=PASSWORD_CONFIRMATION)


@strawberry.input(description="Start setting up sign-in with a one-time code from an authenticator app.")
class ViewerMfaEnrollInput:
    current_password: str = strawberry.field(
        description="Your password: a session alone does not set up a second factor."
    )


@strawberry.input(description="Finish setting up the authenticator app by entering the code it shows.")
class ViewerMfaConfirmInput:
    code: str = strawberry.field(description="The current code from the authenticator app.")


@strawberry.input(description="One user, by ID.")
class UserRefInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.input(description="One session, by ID.")
class SessionRevokeInput:
    id: relay.GlobalID = strawberry.field(description="The session to sign out.")


@strawberry.type(description="The authenticator app's secret, to confirm with `viewerMfaConfirm`.")
class MfaEnrollPayload:
    secret: str | None = strawberry.field(description="For typing in by hand; shown only now.")
    provisioning_uri: str | None = strawberry.field(description="otpauth:// URI, for a QR code.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of signing a session out.")
class SessionPayload:
    session: Session | None = strawberry.field(description="The session signed out; null when refused.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of signing a user out everywhere.")
class SessionsRevokePayload:
    revoked_count: int | None = strawberry.field(
        description="How many sessions were signed out; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
