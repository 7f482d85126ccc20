"""Access keys for partner integrations: an id and a secret shown once. The secret is 240 bits
of randomness, so a SHA-256 of it is safe to store and cheap to check on every call."""

from __future__ import annotations

import hashlib
import secrets
import string

ID_ALPHABET = string.ascii_uppercase + string.digits


def new_key_id() -> str:
    return "AK" + "".join(secrets.choice(ID_ALPHABET) for _ in range(18))


def new_secret() -> str:
    return secrets.token_urlsafe(30)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
