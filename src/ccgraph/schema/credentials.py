"""Credentials as the API shows them: access keys (never their secret after creation) and
sign-in sessions; and the inputs and payloads of the credential mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import FieldChange, changes_field


@strawberry.type(description="An access key for a partner integration. The secret is never shown again.")
class AccessKey(relay.Node):
    id: relay.NodeID[int]
    access_key_id: str = strawberry.field(description="Send it as 'Authorization: AccessKey <id>:<secret>'.")
    active: bool
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: m.AccessKey) -> AccessKey:
        return cls(
            id=row.id,
            access_key_id=row.key_id,
            active=row.active,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="A signed-in session.")
class Session(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime
    last_seen_at: datetime = strawberry.field(description="To the minute.")
    expires_at: datetime
    user_agent: str | None
    ip_address: str | None
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


@strawberry.input
class UserPasswordResetInput:
    user_id: relay.GlobalID
    password: str | None = strawberry.field(
        default=None, description="Leave empty when the security profile generates random passwords."
    )
    password_confirmation: str | None = None
    validate_only: bool = False


@strawberry.input
class ViewerPasswordChangeInput:
    current_password: str
    new_password: str
    new_password_confirmation: str


@strawberry.input
class ViewerMfaEnrollInput:
    current_password: str = strawberry.field(
        description="Your password: a session alone does not set up a second factor."
    )


@strawberry.input
class ViewerMfaConfirmInput:
    code: str = strawberry.field(description="The current code from the authenticator app.")


@strawberry.input
class UserRefInput:
    user_id: relay.GlobalID
    validate_only: bool = False


@strawberry.input
class AccessKeyRefInput:
    id: relay.GlobalID
    validate_only: bool = False


@strawberry.input
class SessionRevokeInput:
    id: relay.GlobalID


@strawberry.type
class MfaEnrollPayload:
    secret: str | None = strawberry.field(description="For typing in by hand; shown only now.")
    provisioning_uri: str | None = strawberry.field(description="otpauth:// URI, for a QR code.")
    user_errors: list[UserError]


@strawberry.type
class AccessKeyCreatePayload:
    access_key: AccessKey | None
    secret: str | None = strawberry.field(description="Shown once: store it now; it cannot be read again.")
    user_errors: list[UserError]


@strawberry.type
class AccessKeyPayload:
    access_key: AccessKey | None
    user_errors: list[UserError]
    changes: list[FieldChange] = changes_field()


@strawberry.type
class SessionPayload:
    session: Session | None
    user_errors: list[UserError]


@strawberry.type
class SessionsRevokePayload:
    revoked_count: int | None
    user_errors: list[UserError]
