"""What routing actually uses for a user (Dynamics 365 "Create and manage users and user
profiles"): the user's capacity and default presence override the profile's; work streams and
queues are the union of the user's and the profile's. Each value says where it came from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ccgraph.enums import SettingSource


class HasId(Protocol):
    id: int


T = TypeVar("T")
R = TypeVar("R", bound=HasId)
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """An overridable value: the user's, else the profile's, else none (no source)."""

    value: T | None
    source: SettingSource | None


@dataclass(frozen=True, slots=True)
class Member(Generic[T]):
    """An item of a union of the user's and the profile's lists, and which side it came from."""

    value: T
    source: SettingSource


@dataclass(frozen=True, slots=True)
class RoutingInputs(Generic[R]):
    """The raw values on both sides; None means "not set"."""

    user_capacity: int | None
    profile_capacity: int | None
    user_default_presence: R | None
    profile_default_presence: R | None
    user_queues: Iterable[R]
    profile_queues: Iterable[R]
    user_work_streams: Iterable[R]
    profile_work_streams: Iterable[R]
    user_skills: Iterable[tuple[Any, int]] = ()  # (skill, proficiency); profiles carry no skills


@dataclass(frozen=True, slots=True)
class EffectiveSettings(Generic[R]):
    capacity: Sourced[int]
    default_presence: Sourced[R]
    queues: list[Member[R]]
    work_streams: list[Member[R]]
    skills: list[Member[tuple[Any, int]]]


def effective_settings(inputs: RoutingInputs[R]) -> EffectiveSettings[R]:
    return EffectiveSettings(
        capacity=override(inputs.user_capacity, inputs.profile_capacity, Sourced),
        default_presence=override(inputs.user_default_presence, inputs.profile_default_presence, Sourced),
        queues=union(inputs.user_queues, inputs.profile_queues, Member),
        work_streams=union(inputs.user_work_streams, inputs.profile_work_streams, Member),
        skills=routable_skills(inputs.user_skills),
    )


def routable_skills(skills: Iterable[tuple[Any, int]]) -> list[Member[tuple[Any, int]]]:
    """Only active skills route; the most proficient (1) first, then by name."""
    active = [(skill, p) for skill, p in skills if skill.active]
    active.sort(key=lambda pair: (pair[1], pair[0].name))
    return [Member(pair, SettingSource.USER) for pair in active]


# The two rules build each result with `make(value, source)`: the service's own Sourced and
# Member, or a caller's type directly (the API's, for a page of users: no object in between).


def override(user_value: T | None, profile_value: T | None, make: Callable[[Any, Any], S]) -> S:
    """The user's value, else the profile's, else none (no source)."""
    if user_value is not None:
        return make(user_value, SettingSource.USER)
    if profile_value is not None:
        return make(profile_value, SettingSource.PROFILE)
    return make(None, None)


def union(
    user_values: Iterable[R], profile_values: Iterable[R], make: Callable[[R, SettingSource], S]
) -> list[S]:
    """The user's items, then the profile's others; an item on both sides (by id) is BOTH."""
    USER, PROFILE, BOTH = SettingSource.USER, SettingSource.PROFILE, SettingSource.BOTH
    merged: dict[int, tuple[R, SettingSource]] = {v.id: (v, USER) for v in user_values}
    for value in profile_values:
        seen = merged.get(value.id)
        merged[value.id] = (seen[0], BOTH) if seen is not None else (value, PROFILE)
    return [make(value, source) for value, source in merged.values()]
