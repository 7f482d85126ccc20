"""Settings: one immutable object, read once from CCGRAPH_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ccgraph.db"


class ConfigError(ValueError):
    """A setting that cannot work, said in one line: which setting, what is wrong, what to do."""

    def __init__(self, setting: str, problem: str, remedy: str) -> None:
        super().__init__(f"{setting}: {problem}; {remedy}")
        self.setting = setting


def variable(name: str) -> str:
    """The environment variable of the setting `name`."""
    return f"CCGRAPH_{name.upper()}"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str = ""  # PostgreSQL only: the schema to work in (search_path)
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # `ccgraph serve`'s worker processes
    log_level: str = "info"
    log_format: str = "json"  # or "text": a readable line for a local console
    # Prometheus metrics (README, "Metrics"), on an address of their own; port 0 = off.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    session_ttl_seconds: int = 12 * 3600
    # How long a bearer token from /oauth/token (client credentials) lives.
    oauth_token_ttl_seconds: int = 3600
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
    # Subscriptions (README, "Subscriptions"): how often a process's broker reads the event log
    # when nothing woke it (a safety net: a commit wakes it), and how many batches of events a
    # subscriber may fall behind before it is dropped.
    live_poll_seconds: float = 1.0
    subscription_backlog: int = 100
    # Webhooks (README, "Webhooks"): how long a partner has to answer a delivery, how often the
    # sender looks for work (0: none runs in this process), and whether endpoints may be on
    # loopback or private addresses (a receiver on the same host or an intranet; off: SSRF).
    webhooks_timeout_seconds: float = 10.0
    webhooks_poll_seconds: float = 2.0
    webhooks_allow_private: bool = False
    # Query limits (OWASP GraphQL cheat sheet).
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 5000
    max_query_cost: int = 50_000
    # Production controls.
    # Automatic persisted queries: documents kept (the oldest go beyond this).
    persisted_queries_max: int = 10_000
    # A persisted documents manifest: when set, only its operations run (and no GraphiQL).
    trusted_documents: str = ""
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    # GraphiQL at /graphql; None (unset): on in development, off in production.
    graphiql: bool | None = None
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
    def graphiql_enabled(self) -> bool:
        """On in development, off in production unless asked for; never with trusted
        documents, where no other document runs (so an editor for them is no use)."""
        wanted = (not self.production) if self.graphiql is None else self.graphiql
        return wanted and not self.trusted_documents

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(variable(f.name))
            if raw is None:
                continue
            default = getattr(cls(), f.name)
            kind = bool if default is None else type(default)  # None: an on/off left to other settings
            try:
                values[f.name] = _bool(raw) if kind is bool else kind(raw)
            except ValueError:
                number = "a whole number" if kind is int else "a number"
                raise ConfigError(
                    variable(f.name),
                    f"{raw!r} is not {number}",
                    f"set {number} (default {getattr(cls(), f.name)}) or unset it",
                ) from None
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_RANGES = {
    "persisted_queries_max": (1, 10_000_000),
    "port": (0, 65535),
    "metrics_port": (0, 65535),
    "workers": (1, 1024),
    "db_pool_size": (1, 10_000),
    "subscription_backlog": (1, 100_000),
    "live_poll_seconds": (0.01, 3600),
}
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOG_FORMATS = ("json", "text")
_URL_EXAMPLES = "sqlite+aiosqlite:///path/to/ccgraph.db or postgresql+asyncpg://user:password@host/database"


def check(settings: Settings) -> None:
    """Refuse settings that cannot work, before anything uses them (raises ConfigError).

    Static checks only: whether the database answers is `db.migrate.readiness`."""
    _check_database_url(settings.database_url)
    if settings.production and not settings.secret_key:
        raise ConfigError(
            variable("secret_key"),
            "not set, and CCGRAPH_ENV=production requires it (it encrypts MFA secrets at rest)",
            "set it to a long random string, the same on every process",
        )
    if settings.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(
            variable("log_level"),
            f"{settings.log_level!r} is not a log level",
            f"use one of {', '.join(LOG_LEVELS)}",
        )
    if settings.log_format not in LOG_FORMATS:
        raise ConfigError(
            variable("log_format"),
            f"{settings.log_format!r} is not a log format",
            f"use one of {', '.join(LOG_FORMATS)}",
        )
    if settings.trusted_documents:
        from ccgraph.graphql_http import load_manifest  # the manifest is read as the server will

        load_manifest(settings.trusted_documents)
    for name, (low, high) in _RANGES.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            raise ConfigError(
                variable(name), f"{value} is out of range", f"set a number from {low} to {high}"
            )


def _check_database_url(database_url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    setting = variable("database_url")
    try:
        url = make_url(database_url)
    except ArgumentError:
        shown = "its value" if "@" in database_url else repr(database_url)  # no password shown
        raise ConfigError(setting, f"{shown} is not a database URL", f"use {_URL_EXAMPLES}") from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            setting,
            f"the {backend} backend is not supported (SQLite and PostgreSQL are)",
            f"use {_URL_EXAMPLES}",
        )
    wanted = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}[backend]
    if driver != wanted:
        raise ConfigError(
            setting,
            f"the {driver} driver is not supported (ccgraph runs {backend} through {wanted})",
            f"use {backend}+{wanted}:// instead of {url.drivername}://",
        )
    if (
        backend == "sqlite"
        and url.database
        and url.database != ":memory:"
        and not url.database.startswith("file:")
    ):
        _check_sqlite_path(setting, url.database)


def _check_sqlite_path(setting: str, database: str) -> None:
    """The file and its folder must be writable: SQLite keeps its journal (-wal, -shm) beside it."""
    path = os.path.abspath(database)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ConfigError(
            setting, f"the folder {folder} does not exist", "create it, or point the URL elsewhere"
        )
    if os.path.isdir(path):
        raise ConfigError(setting, f"{path} is a folder, not a database file", "name a file in the URL")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK)
    ):
        raise ConfigError(
            setting,
            f"{path} cannot be written (SQLite writes the file and its journal beside it)",
            "give this user write access to the file and its folder, or point the URL elsewhere",
        )
