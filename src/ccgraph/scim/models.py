"""The SCIM resources ccgraph serves, described with scim2-models: exactly the attributes it
stores, so that `/Schemas` tells an identity provider the truth (RFC 7643 §7). What a client
sends beyond them (Entra's `displayName`, Okta's `locale`...) is ignored, as both expect.

`examples` become the attributes' `canonicalValues`: values the server accepts (country codes,
time zones, phone types), for people and for conformance tools that fill attributes at random."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    ExtensibleStringEnum,
    Extension,
    Filter,
    Group,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Returned,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Pagination as PaginationSupport

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CCGRAPH_USER = "urn:ietf:params:scim:schemas:extension:ccgraph:2.0:User"
MAX_RESULTS = 100  # a page, as the GraphQL connections have it

COUNTRIES = ["GB", "US", "FR", "DE", "ES", "IE", "NL", "IN", "AU", "CA"]
TIMEZONES = ["UTC", "Europe/London", "Europe/Paris", "America/New_York", "America/Chicago", "Asia/Kolkata"]


class PhoneType(ExtensibleStringEnum):
    """The three numbers a ccgraph user has (Dynamics 365 "Details"); other types (Entra's
    fax) are accepted and not kept."""

    work = "work"
    mobile = "mobile"
    home = "home"


class AddressType(ExtensibleStringEnum):
    work = "work"


class Name(ComplexAttribute):
    formatted: Annotated[str | None, Mutability.read_only] = Field(
        None, description="Given name and family name, for display."
    )
    family_name: Annotated[str | None, Required.true] = Field(None, description="ccgraph's last name.")
    given_name: Annotated[str | None, Required.true] = Field(None, description="ccgraph's first name.")


class Email(ComplexAttribute):
    value: Annotated[str | None, Required.true] = Field(
        None, description="The user's e-mail address (one per user: the primary, else the first)."
    )
    type: str | None = Field(None, examples=["work"])
    primary: bool | None = None


class PhoneNumber(ComplexAttribute):
    value: Annotated[str | None, Required.true] = Field(
        None, description="Digits, spaces and + ( ) . / -.", examples=["+44 20 7946 0000", "+1 212 555 0100"]
    )
    type: Annotated[PhoneType | None, Required.true] = Field(
        None, description="work: main phone; mobile; home."
    )
    primary: bool | None = None


class Address(ComplexAttribute):
    street_address: str | None = Field(
        None, description="Street lines 1 and 2, one per line.", examples=["1 Main Street"]
    )
    locality: str | None = Field(None, examples=["London", "Paris"])
    region: str | None = Field(None, examples=["Greater London", "Ile-de-France"])
    postal_code: str | None = Field(None, examples=["SW1A 1AA", "75001"])
    country: str | None = Field(None, description="ISO 3166-1 alpha-2.", examples=COUNTRIES)
    type: AddressType | None = Field(None, description="ccgraph keeps one address: work.")
    primary: bool | None = None


class GroupMembership(ComplexAttribute):
    """The user's team, as a group."""

    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    ref: Annotated[Reference[Group] | None, Mutability.read_only] = Field(None, serialization_alias="$ref")
    display: Annotated[str | None, Mutability.read_only] = None


class User(Resource[Any]):
    __schema__ = URN(CORE_USER)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(
        None, description="ccgraph's username: stored in lower case, unique in the installation."
    )
    name: Annotated[Name | None, Required.true] = None
    title: str | None = Field(None, description="ccgraph's job title.")
    timezone: str | None = Field(None, description="An IANA time zone.", examples=TIMEZONES)
    active: bool | None = Field(None, description="false: the user is disabled (ccgraph's userDisable).")
    password: Annotated[str | None, Mutability.write_only, Returned.never] = Field(
        None,
        description="On creation, the user's first password (the security profile's policy "
        "applies); afterwards, a password reset. Never returned.",
    )
    emails: Annotated[list[Email] | None, Required.true] = None
    phone_numbers: list[PhoneNumber] | None = None
    addresses: list[Address] | None = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None


class Manager(ComplexAttribute):
    value: Annotated[str | None, Required.true, CaseExact.true] = Field(
        None, description="The SCIM id of the manager, a user of the same business unit."
    )
    ref: Reference[User] | None = Field(
        None,
        serialization_alias="$ref",
        validation_alias="$ref",
        description="The manager's URL; value wins.",
    )
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    """RFC 7643 §4.3, the attributes ccgraph keeps."""

    __schema__ = URN(ENTERPRISE_USER)

    employee_number: str | None = Field(None, description="ccgraph's employee ID.")
    department: str | None = None
    manager: Manager | None = None


class CcgraphUser(Extension):
    """What a contact centre adds, named as the admin pages name them (not by ID)."""

    __schema__ = URN(CCGRAPH_USER)

    user_profile: str | None = Field(None, description="The name of the user's user (routing) profile.")
    team: str | None = Field(None, description="The name of the user's team (also their SCIM group).")
    security_profiles: list[str] | None = Field(
        None,
        description="The names of the user's security profiles (at least one); none given on "
        "creation: the business unit's default one. Granting never gives a permission the "
        "caller lacks.",
    )


ScimUser: Any = User[EnterpriseUser | CcgraphUser]  # type: ignore[misc]


class Team(Group):
    """A SCIM group is a ccgraph team: a user is in at most one."""


POLICY = ScimPolicy(
    # Identity providers send attributes nobody stores (displayName, locale, roles): ignored.
    unknown=ScimPolicy.Unknown.ignore,
    # Entra removes a member with `{"op": "Remove", "path": "members", "value": [...]}`.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra replaces `emails[type eq "work"].value` on a user who has none of that type yet.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def _config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        pagination=PaginationSupport(index=True, cursor=False, default_page_size=MAX_RESULTS),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Access key as bearer token",
                description="Authorization: Bearer <keyId>:<secret> (a ccgraph access key), or a "
                "token from /oauth/token.",
                primary=True,
            )
        ],
    )


def _resource_type(name: str, description: str, schema: str, *extensions: str) -> ResourceType:
    return ResourceType.model_validate(
        {
            "id": name,
            "name": name,
            "endpoint": f"/{name}s",
            "description": description,
            "schema": schema,
            "schemaExtensions": [{"schema": e, "required": False} for e in extensions] or None,
        }
    )


PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, CcgraphUser, Team],
    resource_types=[
        _resource_type(
            "User",
            "A contact-centre user (agent, supervisor, administrator).",
            CORE_USER,
            ENTERPRISE_USER,
            CCGRAPH_USER,
        ),
        _resource_type("Group", "A ccgraph team; a user is a member of at most one.", str(Team.__schema__)),
    ],
    config=_config(),
    policy=POLICY,
)
