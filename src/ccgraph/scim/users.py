"""A ccgraph user as a SCIM User and back: the one table of which column is which attribute,
for responses, for requests (what a POST, PUT or PATCH asks the services to write), for
filters and for naming an attribute in an error."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ccgraph.auth.principal import Principal
from ccgraph.db import models as m
from ccgraph.scim.errors import ScimError
from ccgraph.scim.filters import Attributes, Exact, Ref
from ccgraph.scim.ids import gid, pk_of
from ccgraph.scim.models import (
    CCGRAPH_USER,
    CORE_USER,
    ENTERPRISE_USER,
    Address,
    AddressType,
    CcgraphUser,
    Email,
    EnterpriseUser,
    GroupMembership,
    Manager,
    Name,
    PhoneNumber,
    PhoneType,
    ScimUser,
)
from ccgraph.services import authority
from ccgraph.services.users.fields import BY_COLUMN, COLLECTIONS
from ccgraph.services.writes import Actor

PHONES = {PhoneType.work: "main_phone", PhoneType.mobile: "mobile_phone", PhoneType.home: "home_phone"}
ADDRESS = {
    "locality": "address_city",
    "region": "address_state",
    "postal_code": "address_postal_code",
    "country": "address_country",
}
ENTERPRISE = {"employee_number": "employee_id", "department": "department"}
# Where each column is, as SCIM names it (an error's `detail` says this).
ATTRIBUTE = {
    "username": "userName",
    "external_id": "externalId",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "email": "emails",
    "job_title": "title",
    "timezone": "timezone",
    **{column: f'phoneNumbers[type eq "{kind.value}"].value' for kind, column in PHONES.items()},
    "address_street1": 'addresses[type eq "work"].streetAddress',
    "address_street2": 'addresses[type eq "work"].streetAddress',
    "address_city": 'addresses[type eq "work"].locality',
    "address_state": 'addresses[type eq "work"].region',
    "address_postal_code": 'addresses[type eq "work"].postalCode',
    "address_country": 'addresses[type eq "work"].country',
    "employee_id": f"{ENTERPRISE_USER}:employeeNumber",
    "department": f"{ENTERPRISE_USER}:department",
    "manager_id": f"{ENTERPRISE_USER}:manager",
    "team_id": f"{CCGRAPH_USER}:team",
    "user_profile_id": f"{CCGRAPH_USER}:userProfile",
    "security_profile_ids": f"{CCGRAPH_USER}:securityProfiles",
}


def error_attributes() -> dict[str, str]:
    """A service input path ("contact.mainPhone") -> the SCIM attribute it came from."""
    found = {".".join(BY_COLUMN[c].api_path): a for c, a in ATTRIBUTE.items() if c in BY_COLUMN}
    found |= {".".join(path): ATTRIBUTE[key] for key, path in COLLECTIONS.items() if key in ATTRIBUTE}
    return found | {"password": "password", "passwordConfirmation": "password", "id": "id"}


# -- reading ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Related:
    """What a page of users shows besides their own columns, fetched once for the page."""

    teams: dict[int, m.Team] = field(default_factory=dict)
    user_profiles: dict[int, str] = field(default_factory=dict)
    security_profiles: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    managers: dict[int, m.User] = field(default_factory=dict)


async def related(session: AsyncSession, users: Sequence[m.User]) -> Related:
    found = Related()
    team_ids = {u.team_id for u in users if u.team_id is not None}
    if team_ids:
        found.teams = {
            t.id: t for t in (await session.scalars(select(m.Team).where(m.Team.id.in_(team_ids))))
        }
    profile_ids = {u.user_profile_id for u in users if u.user_profile_id is not None}
    if profile_ids:
        rows = await session.execute(
            select(m.UserProfile.id, m.UserProfile.name).where(m.UserProfile.id.in_(profile_ids))
        )
        found.user_profiles = dict(rows.all())
    manager_ids = {u.manager_id for u in users if u.manager_id is not None}
    if manager_ids:
        found.managers = {
            u.id: u for u in (await session.scalars(select(m.User).where(m.User.id.in_(manager_ids))))
        }
    link = m.user_security_profiles.c
    rows = await session.execute(
        select(link.user_id, m.SecurityProfile.name)
        .join(m.SecurityProfile, m.SecurityProfile.id == link.security_profile_id)
        .where(link.user_id.in_([u.id for u in users]))
        .order_by(m.SecurityProfile.name)
    )
    for user_id, name in rows.all():
        found.security_profiles[user_id].append(name)
    return found


def resource(user: m.User, rel: Related, base: str) -> ScimUser:
    """The user as SCIM shows them; `base` is the service's URL (".../scim/v2")."""
    out = ScimUser(
        id=gid("User", user.id),
        external_id=user.external_id,
        meta={
            "resourceType": "User",
            "created": user.created_at,
            "lastModified": user.updated_at,
            "location": f"{base}/Users/{gid('User', user.id)}",
            "version": etag(user.version),
        },
        user_name=user.username,
        name=Name(
            given_name=user.first_name,
            family_name=user.last_name,
            formatted=f"{user.first_name} {user.last_name}".strip(),
        ),
        title=user.job_title,
        timezone=user.timezone,
        active=user.enabled,
        emails=[Email(value=user.email, type="work", primary=True)],
        phone_numbers=[  # the first number is the primary one: work, else mobile, else home
            PhoneNumber(value=number, type=kind, primary=index == 0)
            for index, (kind, number) in enumerate(
                (kind, getattr(user, column)) for kind, column in PHONES.items() if getattr(user, column)
            )
        ]
        or None,
        addresses=_addresses(user),
    )
    team = rel.teams.get(user.team_id) if user.team_id is not None else None
    if team is not None:
        out.groups = [
            GroupMembership.model_validate(
                {
                    "value": gid("Team", team.id),
                    "$ref": f"{base}/Groups/{gid('Team', team.id)}",
                    "display": team.name,
                }
            )
        ]
    manager = rel.managers.get(user.manager_id) if user.manager_id is not None else None
    if user.employee_id or user.department or manager is not None:
        out[EnterpriseUser] = EnterpriseUser(
            employee_number=user.employee_id,
            department=user.department,
            manager=Manager.model_validate(
                {
                    "value": gid("User", manager.id),
                    "$ref": f"{base}/Users/{gid('User', manager.id)}",
                    "displayName": f"{manager.first_name} {manager.last_name}",
                }
            )
            if manager is not None
            else None,
        )
    out[CcgraphUser] = CcgraphUser(
        user_profile=rel.user_profiles.get(user.user_profile_id)
        if user.user_profile_id is not None
        else None,
        team=team.name if team is not None else None,
        security_profiles=rel.security_profiles.get(user.id) or None,
    )
    return out


def _addresses(user: m.User) -> list[Address] | None:
    street = "\n".join(s for s in (user.address_street1, user.address_street2) if s)
    parts = {name: getattr(user, column) for name, column in ADDRESS.items()}
    if not street and not any(parts.values()):
        return None
    return [Address(street_address=street or None, **parts, type=AddressType.work, primary=True)]


def etag(version: int) -> str:
    return f'W/"{version}"'


# -- writing ----------------------------------------------------------------------------------


async def values_of(
    session: AsyncSession, unit_id: int, res: ScimUser, *, creating: bool, whole: bool = False
) -> dict[str, Any]:
    """The columns (and security profiles) `res` asks for, as the services take them. On
    creation only what is given; otherwise the whole state of what `res` asserts: the core
    attributes always (an omitted one is cleared), an extension only when it is there (a PUT
    without it leaves it alone) or when `res` is `whole` (a patched user: an extension the
    patch removed is cleared)."""
    values: dict[str, Any] = {
        "username": res.user_name,
        "first_name": res.name.given_name if res.name else None,
        "last_name": res.name.family_name if res.name else None,
        "email": _email(res.emails),
        "job_title": res.title,
    }
    if res.timezone is not None:
        values["timezone"] = res.timezone
    values["external_id"] = res.external_id  # caseExact: kept as given
    phones = _by_type(res.phone_numbers or [], PhoneType)
    values |= {column: phones[kind].value if kind in phones else None for kind, column in PHONES.items()}
    values |= _address_values(_by_type(res.addresses or [], AddressType).get(AddressType.work))
    enterprise = res[EnterpriseUser] or (EnterpriseUser.model_validate({}) if whole else None)
    if enterprise is not None:
        values |= {column: getattr(enterprise, name) for name, column in ENTERPRISE.items()}
        values["manager_id"] = _manager(enterprise.manager)
    ccgraph = res[CcgraphUser] or (CcgraphUser.model_validate({}) if whole else None)
    if ccgraph is not None:
        values["team_id"] = await _named_id(session, m.Team, unit_id, ccgraph.team, "team")
        values["user_profile_id"] = await _named_id(
            session, m.UserProfile, unit_id, ccgraph.user_profile, "userProfile"
        )
        if ccgraph.security_profiles is not None or not creating:
            values["security_profile_ids"] = [
                await _named_id(session, m.SecurityProfile, unit_id, name, "securityProfiles")
                for name in ccgraph.security_profiles or []
            ]
    if creating:
        values = {k: v for k, v in values.items() if v is not None}
    return values


def _email(emails: Sequence[Email] | None) -> str | None:
    """ccgraph keeps one address: the primary one, else a work one, else the first."""
    if not emails:
        return None
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if str(e.type or "").lower() == "work"), emails[0]
    )
    return chosen.value


def _by_type(entries: Sequence[Any], kinds: Any) -> dict[Any, Any]:
    """One entry per known type, the primary one first; entries of other types are not kept."""
    found: dict[Any, Any] = {}
    for entry in sorted(entries, key=lambda e: not e.primary):
        kind = entry.type if entry.type is not None else next(iter(kinds))
        if kind in list(kinds) and kind not in found:
            found[kind] = entry
    return found


def _address_values(address: Address | None) -> dict[str, Any]:
    lines = (address.street_address or "").split("\n", 1) if address is not None else []
    values = {
        "address_street1": lines[0].strip() or None if lines else None,
        "address_street2": lines[1].strip() or None if len(lines) > 1 else None,
    }
    return values | {column: getattr(address, name, None) for name, column in ADDRESS.items()}


def _manager(manager: Manager | None) -> int | None:
    if manager is None:
        return None
    value = manager.value or (str(manager.ref).rstrip("/").rsplit("/", 1)[-1] if manager.ref else None)
    if not value:
        return None
    pk = pk_of("User", value)
    if pk is None:
        raise ScimError(400, f"{ATTRIBUTE['manager_id']}: {value!r} is not a User id.", "invalidValue")
    return pk


async def _named_id(
    session: AsyncSession, model: Any, unit_id: int, name: str | None, attribute: str
) -> int | None:
    """The id of the unit's object named `name` (names are unique per unit, in any case)."""
    if name is None or not name.strip():
        return None
    found = await session.scalar(
        select(model.id).where(
            model.business_unit_id == unit_id, func.lower(model.name) == name.strip().lower()
        )
    )
    if found is None:
        raise ScimError(
            400,
            f"{CCGRAPH_USER}:{attribute}: no {attribute} named {name!r} in the business unit.",
            "invalidValue",
        )
    return int(found)


# -- filtering --------------------------------------------------------------------------------

ATTRIBUTES = Attributes(
    schema=CORE_USER,
    simple={
        (CORE_USER.lower(), "id"): Ref(m.User.id, "User"),
        (CORE_USER.lower(), "username"): m.User.username,
        (CORE_USER.lower(), "title"): m.User.job_title,
        (CORE_USER.lower(), "timezone"): m.User.timezone,
        (CORE_USER.lower(), "active"): m.User.enabled,
        (ENTERPRISE_USER.lower(), "employeenumber"): m.User.employee_id,
        (ENTERPRISE_USER.lower(), "department"): m.User.department,
        (CORE_USER.lower(), "externalid"): Exact(m.User.external_id),
    },
    complex={
        (CORE_USER.lower(), "name"): [{"givenname": m.User.first_name, "familyname": m.User.last_name}],
        (CORE_USER.lower(), "emails"): [{"value": m.User.email, "type": "work", "primary": True}],
        (CORE_USER.lower(), "phonenumbers"): [
            {"value": getattr(m.User, column), "type": kind.value} for kind, column in PHONES.items()
        ],
        (CORE_USER.lower(), "addresses"): [
            {
                "streetaddress": m.User.address_street1,
                "locality": m.User.address_city,
                "region": m.User.address_state,
                "postalcode": m.User.address_postal_code,
                "country": m.User.address_country,
                "type": "work",
            }
        ],
        (CORE_USER.lower(), "groups"): [{"value": Ref(m.User.team_id, "Team")}],
        (CORE_USER.lower(), "meta"): [{"created": m.User.created_at, "lastmodified": m.User.updated_at}],
        (ENTERPRISE_USER.lower(), "manager"): [{"value": Ref(m.User.manager_id, "User")}],
    },
)


# -- discovery --------------------------------------------------------------------------------


async def choices(session: AsyncSession, principal: Principal) -> dict[str, list[str]]:
    """The names the caller may give in the ccgraph extension, published as the attributes'
    `canonicalValues` in /Schemas: the teams and user profiles it may read, and the security
    profiles it may read and grant (none holding a permission it lacks)."""
    found: dict[str, list[str]] = {}
    for attribute, model in (("team", m.Team), ("userProfile", m.UserProfile)):
        if authority.readable(principal, authority.READ[model]):
            found[attribute] = list(
                (
                    await session.scalars(
                        select(model.name)
                        .where(model.business_unit_id == principal.business_unit_id)
                        .order_by(model.name)
                    )
                ).all()
            )
    if authority.readable(principal, authority.READ[m.SecurityProfile]):
        rows = await session.execute(
            select(m.SecurityProfile.name, m.SecurityProfile.permissions)
            .where(m.SecurityProfile.business_unit_id == principal.business_unit_id)
            .order_by(m.SecurityProfile.name)
        )
        actor = Actor(principal)
        found["securityProfiles"] = [
            name for name, held in rows.all() if not authority.beyond(actor, held or [])
        ]
    return found
