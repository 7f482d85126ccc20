"""Access keys for partner integrations: an id and a secret shown once. The secret is 240 bits
of randomness, so a SHA-256 of it is safe to store and cheap to check on every call."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

ID_ALPHABET = string.ascii_uppercase + string.digits
KEY_ID = re.compile(r"^AK[A-Z0-9]{18}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{40}$")


def new_key_id() -> str:
    return "AK" + "".join(secrets.choice(ID_ALPHABET) for _ in range(18))


def new_secret() -> str:
    return secrets.token_urlsafe(30)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed(key_id: str, secret: str) -> bool:
    """An id and secret of the shapes this module makes; anything else is not looked up."""
    return bool(KEY_ID.match(key_id) and SECRET.match(secret))


def looks_like_key(credentials: str) -> bool:
    """`<keyId>:<secret>` sent as a bearer token (identity providers send only those)."""
    return credentials.startswith("AK") and ":" in credentials
