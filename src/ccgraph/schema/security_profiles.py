from __future__ import annotations

import strawberry
from strawberry import relay

from ccgraph.db import models as m
from ccgraph.enums import Permission as PermissionValue
from ccgraph.schema.enums import Permission
from ccgraph.schema.node import node_type
from ccgraph.schema.user_connections import users_field


@strawberry.type(description="Rules a password must meet, and whether passwords are generated.")
class PasswordPolicy:
    min_length: int
    require_uppercase: bool
    require_lowercase: bool
    require_digit: bool
    require_symbol: bool
    generate_random_passwords: bool = strawberry.field(
        description="Passwords are generated and e-mailed; none may be typed in."
    )


@node_type(m.SecurityProfile, "security_profile")
@strawberry.type(description="A named set of permissions and a password policy.")
class SecurityProfile(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    permissions: list[Permission]
    password_policy: PasswordPolicy

    @classmethod
    def from_row(cls, row: m.SecurityProfile) -> SecurityProfile:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            permissions=sorted(
                (PermissionValue(p) for p in row.permissions if p in PermissionValue.__members__),
                key=list(PermissionValue).index,
            ),
            password_policy=PasswordPolicy(
                min_length=row.password_min_length,
                require_uppercase=row.password_require_uppercase,
                require_lowercase=row.password_require_lowercase,
                require_digit=row.password_require_digit,
                require_symbol=row.password_require_symbol,
                generate_random_passwords=row.generate_random_passwords,
            ),
        )

    users = users_field("security_profile_users", "Users who hold this security profile.")


@strawberry.type(description="One entry of the permission catalogue.")
class PermissionInfo:
    name: Permission
    description: str
