"""Settings: one immutable object, read once from CCGRAPH_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ccgraph.db"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str = ""  # PostgreSQL only: the schema to work in (search_path)
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: str = "json"  # or "text": a readable line for a local console
    session_ttl_seconds: int = 12 * 3600
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    sqlite_busy_timeout_ms: int = 5000
    db_pool_size: int = 10
    # How long to wait for PostgreSQL to accept a connection (and /readyz for an answer).
    db_connect_timeout_seconds: float = 5.0
    db_echo: bool = False
    # Encrypts MFA secrets at rest. Required in production; development falls back to a fixed key.
    secret_key: str = ""
    lockout_threshold: int = 10
    lockout_window_seconds: int = 15 * 60
    access_keys_per_user: int = 2
    # How long a mutation's answer is kept for retries sent with the same Idempotency-Key.
    idempotency_ttl_seconds: int = 24 * 3600
    # Outgoing mail. With no SMTP host, mail waits in the outbox (and the log says so).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "ccgraph@localhost"
    mail_poll_seconds: float = 5.0
    mail_max_attempts: int = 10
    # Query limits (OWASP GraphQL cheat sheet).
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 5000
    max_query_cost: int = 50_000
    # Production controls.
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    max_body_bytes: int = 12 * 1024 * 1024
    # Benchmarks only: false resolves every relation row by row (the "naive" baseline).
    dataloaders: bool = True
    # False executes every field through graphql-core's own executor (the reference the suite
    # compares the planned executor with).
    planned_execution: bool = True
    # Bulk user files.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_import_rows: int = 10_000
    max_import_unzipped_bytes: int = 100 * 1024 * 1024  # an XLSX workbook, unpacked

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"CCGRAPH_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = _bool(raw) if kind is bool else kind(raw)
            except ValueError as exc:
                raise ValueError(f"CCGRAPH_{f.name.upper()}: {exc}") from exc
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)
