"""Encryption at rest for secrets the server must read back (TOTP seeds): Fernet with a key
derived from CCGRAPH_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken

from ccgraph.config import Settings

log = logging.getLogger("ccgraph.auth")
DEVELOPMENT_KEY = "ccgraph-development-key-not-for-production"


class SecretKeyMissing(RuntimeError):
    pass


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        key = settings.secret_key
        if not key:
            if settings.production:
                raise SecretKeyMissing("CCGRAPH_SECRET_KEY must be set in production")
            log.warning("CCGRAPH_SECRET_KEY is not set: MFA secrets use the development key")
            key = DEVELOPMENT_KEY
        derived = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
