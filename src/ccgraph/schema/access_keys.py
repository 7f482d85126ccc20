"""Access keys as the API shows them (never their secret after creation), and the inputs and
payloads of the access-key mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay

from ccgraph.db import models as m
from ccgraph.enums import Permission
from ccgraph.schema.descriptions import VALIDATE
from ccgraph.schema.errors import UserError
from ccgraph.schema.payloads import USER_ERRORS, FieldChange, changes_field, payload_description
from ccgraph.services.access_keys import KEEP, KeyTerms, scope_names

NAME = "What the key is for, e.g. the partner's name (up to 100 characters)."
DESCRIPTION = "Notes for the people who manage the key (up to 500 characters)."
SCOPES = (
    "The permissions the key may use, all held by its user; null for all of the user's. A request "
    "signed with the key may do what the user may do now and the scopes allow: narrower if the user "
    "loses a permission, never wider."
)
EXPIRES_AT = "When the key stops working; null for never. Must be in the future."


@strawberry.type(description="An access key for a partner integration. The secret is never shown again.")
class AccessKey(relay.Node):
    id: relay.NodeID[int]
    access_key_id: str = strawberry.field(
        description="Send 'Authorization: AccessKey <id>:<secret>' (or 'Bearer <id>:<secret>'), "
        "or use id and secret as OAuth client credentials at /oauth/token."
    )
    name: str = strawberry.field(description=NAME + " Empty when none was given.")
    description: str | None = strawberry.field(description=DESCRIPTION)
    scopes: list[Permission] | None = strawberry.field(description=SCOPES)
    expires_at: datetime | None = strawberry.field(description=EXPIRES_AT)
    active: bool = strawberry.field(
        description="False once deactivated: the key no longer signs requests in (reactivate with "
        "accessKeyActivate)."
    )
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When a request last used the key (or a token issued to it), to the minute; "
        "null if none has."
    )
    last_used_from: str | None = strawberry.field(
        description="The client address of the last request signed with the key's secret."
    )

    @classmethod
    def from_row(cls, row: m.AccessKey) -> AccessKey:
        return cls(
            id=row.id,
            access_key_id=row.key_id,
            name=row.name,
            description=row.description,
            scopes=scope_names(row.scopes),
            expires_at=row.expires_at,
            active=row.active,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            last_used_from=row.last_used_from,
        )


@strawberry.input(description="The user to create an access key for, and what the key may do.")
class AccessKeyCreateInput:
    user_id: relay.GlobalID = strawberry.field(description="The user the key signs in as.")
    name: str | None = strawberry.field(default=None, description=NAME)
    description: str | None = strawberry.field(default=None, description=DESCRIPTION)
    scopes: list[Permission] | None = strawberry.field(default=None, description=SCOPES)
    expires_at: datetime | None = strawberry.field(default=None, description=EXPIRES_AT)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)

    def terms(self) -> KeyTerms:
        return KeyTerms(self.name, self.description, _scopes(self.scopes), self.expires_at)


@strawberry.input(
    description="Change an access key's name, description, scopes or expiry; what is left out is kept."
)
class AccessKeyUpdateInput:
    id: relay.GlobalID = strawberry.field(description="The access key.")
    name: str | None = strawberry.field(default=UNSET, description=NAME)
    description: str | None = strawberry.field(default=UNSET, description=DESCRIPTION + " Null clears it.")
    scopes: list[Permission] | None = strawberry.field(default=UNSET, description=SCOPES)
    expires_at: datetime | None = strawberry.field(default=UNSET, description=EXPIRES_AT)
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)

    def terms(self) -> KeyTerms:
        def given(value: object) -> object:
            return KEEP if value is UNSET else value

        return KeyTerms(
            given(self.name), given(self.description), given(_scopes(self.scopes)), given(self.expires_at)
        )


def _scopes(scopes: object) -> object:
    return [p.value for p in scopes] if isinstance(scopes, list) else scopes


@strawberry.input(description="One access key, by ID.")
class AccessKeyRefInput:
    id: relay.GlobalID = strawberry.field(description="The access key.")
    validate_only: bool = strawberry.field(default=False, description=VALIDATE)


@strawberry.type(description="A new access key and, this once, its secret.")
class AccessKeyCreatePayload:
    access_key: AccessKey | None = strawberry.field(description="The new key; null when refused.")
    secret: str | None = strawberry.field(description="Shown once: store it now; it cannot be read again.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description=payload_description("access key"))
class AccessKeyPayload:
    access_key: AccessKey | None = strawberry.field(description="The access key; null when refused.")
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)
    changes: list[FieldChange] = changes_field()
