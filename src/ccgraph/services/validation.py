"""Checks of single values. Each returns None when the value is fine, else what is wrong, and
states its `rule` in a sentence: the API's descriptions quote it, so a limit is written once."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol, cast

import pycountry
from email_validator import EmailNotValidError, validate_email


class Check(Protocol):
    """A check of one value; `rule` says what it asks, for the person filling the field in."""

    rule: str

    def __call__(self, value: Any, /) -> str | None: ...


def ruled(rule: str) -> Callable[[Callable[[Any], str | None]], Check]:
    """Give a check its rule."""

    def give(check: Callable[[Any], str | None]) -> Check:
        check.rule = rule  # type: ignore[attr-defined]
        return cast(Check, check)

    return give


USERNAME_LENGTH = (3, 150)
USERNAME = re.compile(rf"^[a-z0-9][a-z0-9._@+-]{{{USERNAME_LENGTH[0] - 1},{USERNAME_LENGTH[1] - 1}}}$")
USERNAME_RULE = (
    f"must be {USERNAME_LENGTH[0]}-{USERNAME_LENGTH[1]} characters: letters, digits and . _ @ + -, "
    "starting with a letter or digit"
)
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,39}$")
PHONE_RULE = "is not a phone number (digits, spaces and + ( ) . / -)"


def _sentence(problem: str) -> str:
    """'must be at most 5 characters' as a rule: 'Must be at most 5 characters.'"""
    return f"{problem[0].upper()}{problem[1:]}."


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def text(max_length: int, *, required: bool = False) -> Check:
    too_long = f"must be at most {max_length} characters"

    @ruled(f"Required; at most {max_length} characters." if required else _sentence(too_long))
    def check(value: Any) -> str | None:
        if value is None or not str(value).strip():
            return "is required" if required else None
        if len(str(value)) > max_length:
            return too_long
        return None

    return check


def identifier(max_length: int) -> Check:
    """Another system's id of an object (an identity provider's `externalId`): opaque, so kept
    exactly as given, but a NUL, which no database stores, is refused."""
    too_long = f"must be at most {max_length} characters"

    @ruled(f"At most {max_length} characters, kept as given; no NUL (U+0000).")
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if "\x00" in str(value):
            return "must not contain NUL (U+0000)"
        if len(str(value)) > max_length:
            return too_long
        return None

    return check


@ruled(_sentence(USERNAME_RULE))
def username(value: Any) -> str | None:
    if not value or not USERNAME.match(str(value)):
        return USERNAME_RULE
    return None


@ruled("Required; must be a valid e-mail address.")
def email(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return "is required"
    try:
        validate_email(str(value), check_deliverability=False)
    except EmailNotValidError as exc:
        return f"is not a valid e-mail address ({exc})"
    return None


@ruled("Must be a valid e-mail address, or empty.")
def optional_email(value: Any) -> str | None:
    return None if value is None or value == "" else email(value)


@ruled("Must be an IANA time zone, e.g. Europe/London.")
def timezone(value: Any) -> str | None:
    if value not in _timezones():
        return f"{value!r} is not an IANA time zone (e.g. Europe/London)"
    return None


@ruled("Must be an ISO 3166-1 alpha-2 country code, e.g. GB.")
def country(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or pycountry.countries.get(alpha_2=value.upper()) is None:
        return f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. GB)"
    return None


@ruled("Must be a phone number: digits, spaces and + ( ) . / -, or empty.")
def phone(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not PHONE.match(str(value)):
        return PHONE_RULE
    return None


@ruled("Each must be a phone number: digits, spaces and + ( ) . / -.")
def phones(value: Any) -> str | None:
    for item in value or []:
        problem = phone(item)
        if problem:
            return f"{item!r} {problem}"
    return None


def int_range(low: int, high: int) -> Check:
    @ruled(f"Must be between {low} and {high}.")
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, int) or not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def per_channel(low: int, high: int) -> Check:
    inner = int_range(low, high)

    @ruled(f"Each value must be between {low} and {high}.")
    def check(values: Any) -> str | None:
        for channel, value in (values or {}).items():
            problem = inner(value)
            if problem:
                return f"{channel}: {problem}"
        return None

    return check
