"""Password policy: a security profile sets minimum length, character classes and whether
passwords are generated. A user holding several profiles gets the strictest of each rule."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass

from ccgraph.db.models import SecurityProfile

ABSOLUTE_MIN_LENGTH = 8
MAX_LENGTH = 128
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"


@dataclass(frozen=True, slots=True)
class Policy:
    min_length: int = 12
    uppercase: bool = False
    lowercase: bool = False
    digit: bool = False
    symbol: bool = False
    generate_random: bool = False


def policy_for(profiles: Iterable[SecurityProfile]) -> Policy:
    profiles = list(profiles)
    if not profiles:
        return Policy()
    return Policy(
        min_length=max(ABSOLUTE_MIN_LENGTH, *(p.password_min_length for p in profiles)),
        uppercase=any(p.password_require_uppercase for p in profiles),
        lowercase=any(p.password_require_lowercase for p in profiles),
        digit=any(p.password_require_digit for p in profiles),
        symbol=any(p.password_require_symbol for p in profiles),
        generate_random=any(p.generate_random_passwords for p in profiles),
    )


def problems(password: str, policy: Policy) -> list[str]:
    found = []
    if len(password) < policy.min_length:
        found.append(f"must be at least {policy.min_length} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters")
    if policy.uppercase and not any(c.isupper() for c in password):
        found.append("must contain an upper-case letter")
    if policy.lowercase and not any(c.islower() for c in password):
        found.append("must contain a lower-case letter")
    if policy.digit and not any(c.isdigit() for c in password):
        found.append("must contain a digit")
    if policy.symbol and not any(not c.isalnum() for c in password):
        found.append("must contain a symbol")
    return found


def generate(policy: Policy) -> str:
    """A random password that meets the policy (at least 16 characters)."""
    alphabet = string.ascii_letters + string.digits + SYMBOLS
    length = max(16, policy.min_length)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        strict = Policy(length, uppercase=True, lowercase=True, digit=True, symbol=True)
        if not problems(candidate, strict):
            return candidate
