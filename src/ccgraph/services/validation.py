"""Checks of single values. Each returns None when the value is fine, else what is wrong."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any

import pycountry
from email_validator import EmailNotValidError, validate_email

Check = Callable[[Any], str | None]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{2,149}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,39}$")


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def text(max_length: int, *, required: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if value is None or not str(value).strip():
            return "is required" if required else None
        if len(str(value)) > max_length:
            return f"must be at most {max_length} characters"
        return None

    return check


def username(value: Any) -> str | None:
    if not value or not USERNAME.match(str(value)):
        return "must be 3-150 characters: letters, digits and . _ @ + -, starting with a letter or digit"
    return None


def email(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return "is required"
    try:
        validate_email(str(value), check_deliverability=False)
    except EmailNotValidError as exc:
        return f"is not a valid e-mail address ({exc})"
    return None


def optional_email(value: Any) -> str | None:
    return None if value is None or value == "" else email(value)


def timezone(value: Any) -> str | None:
    if value not in _timezones():
        return f"{value!r} is not an IANA time zone (e.g. Europe/London)"
    return None


def country(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or pycountry.countries.get(alpha_2=value.upper()) is None:
        return f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. GB)"
    return None


def phone(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not PHONE.match(str(value)):
        return "is not a phone number (digits, spaces and + ( ) . / -)"
    return None


def phones(value: Any) -> str | None:
    for item in value or []:
        problem = phone(item)
        if problem:
            return f"{item!r} {problem}"
    return None


def int_range(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, int) or not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def per_channel(low: int, high: int) -> Check:
    inner = int_range(low, high)

    def check(values: Any) -> str | None:
        for channel, value in (values or {}).items():
            problem = inner(value)
            if problem:
                return f"{channel}: {problem}"
        return None

    return check
