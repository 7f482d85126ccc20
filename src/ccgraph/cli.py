"""ccgraph serve | init | demo | export-schema"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ccgraph.config import DEFAULT_DATABASE_URL, ConfigError, Settings, check, variable
from ccgraph.services.outage import unreachable

ADMIN_USERNAME, ADMIN_PASSWORD = "CCGRAPH_ADMIN_USERNAME", "CCGRAPH_ADMIN_PASSWORD"


async def _with_session(settings: Settings, work):
    from ccgraph.db.engine import create_engine, session_factory

    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def _probe(settings: Settings, *, migrated: bool) -> None:
    """Refuse to go on (ConfigError) unless the database answers, and with `migrated` is at
    the code's migration head: the same check as `/readyz`."""
    from ccgraph.db.engine import create_engine
    from ccgraph.db.migrate import readiness

    engine = create_engine(settings)
    try:
        problem = (await readiness(engine, settings.db_connect_timeout_seconds)).problem(migrated=migrated)
    finally:
        await engine.dispose()
    if problem is not None:
        raise problem


def _unreachable(settings: Settings, error: BaseException) -> ConfigError | None:
    from ccgraph.db.migrate import Readiness

    return Readiness(make_url(settings.database_url), failure=error).problem()


async def migrate(settings: Settings) -> None:
    from ccgraph.db.engine import create_engine
    from ccgraph.db.migrate import upgrade

    engine = create_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from ccgraph.auth.passwords import Passwords
    from ccgraph.services.bootstrap import initialize, reset_admin_password

    if args.reset_admin_password and args.admin_password:
        raise ConfigError(
            "--admin-password",
            "cannot be given with --reset-admin-password, which prints a one-time password",
            "leave it out, and choose the new password at the next sign-in",
        )
    asyncio.run(migrate(settings))
    print(f"database migrated: {settings.database_url}")
    result = asyncio.run(
        _with_session(
            settings,
            lambda s: initialize(
                s,
                Passwords(settings),
                admin_username=args.admin_username or os.environ.get(ADMIN_USERNAME, "admin"),
                admin_password=args.admin_password or os.environ.get(ADMIN_PASSWORD),
            ),
        )
    )
    if not result.created and args.reset_admin_password:
        reset = asyncio.run(_with_session(settings, lambda s: reset_admin_password(s, Passwords(settings))))
        assert reset is not None  # initialize found them
        ended = f"{reset.sessions_ended} session{'' if reset.sessions_ended == 1 else 's'} ended"
        print(f"master administrator: {reset.username} (password reset; {ended})")
        print(f"one-time password:    {reset.password}")
    elif not result.created:
        print(f"master administrator: {result.username} (exists; its password is not shown again)")
    elif result.password:
        print(f"master administrator: {result.username}")
        print(f"one-time password:    {result.password}")
    else:
        print(f"master administrator: {result.username} (with the password given)")
    return 0


def cmd_demo(_args: argparse.Namespace, settings: Settings) -> int:
    from ccgraph.services.demo import load_demo

    result = asyncio.run(_with_session(settings, load_demo))
    if result.loaded:
        print(f"demo organisation loaded: {result.users} users")
    else:
        print(f"demo data not loaded: the business unit already has {result.users} users")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from ccgraph.schema.schema import build_schema

    sdl = build_schema(settings).as_str() + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from ccgraph.auth.passwords import Passwords
    from ccgraph.enums import Permission
    from ccgraph.services.auth import principal_for_user
    from ccgraph.services.bulk.imports import ImportMode, import_users
    from ccgraph.services.bulk.tables import FileFormat, FileLimits
    from ccgraph.services.writes import Actor

    path = Path(args.file)
    fmt = (
        FileFormat(args.format.upper())
        if args.format
        else (FileFormat.XLSX if path.suffix.lower() == ".xlsx" else FileFormat.CSV)
    )
    content = _read(path)
    if len(content) > settings.max_upload_bytes:
        raise ConfigError(
            str(path),
            f"{len(content)} bytes, larger than {variable('max_upload_bytes')} ({settings.max_upload_bytes})",
            "split the file, or raise the limit",
        )
    errors_file = _open_errors(args.errors) if args.errors else None

    async def run(session):
        principal = await principal_for_user(session, args.as_user)
        if principal is None:
            raise ConfigError(
                "--as",
                f"no enabled user {args.as_user!r}" if args.as_user else "no enabled master administrator",
                "name an enabled user",
            )
        lacking = principal.missing((Permission.USERS_CREATE, Permission.USERS_EDIT))
        if lacking:
            raise ConfigError(
                "--as",
                f"{principal.username} lacks {', '.join(p.value for p in lacking)}",
                "act as a user who may create and edit users",
            )
        with _RowsBar(f"importing {path.name}") as bar:
            return await import_users(
                session,
                Passwords(settings),
                Actor(principal, "cli-import"),
                content,
                fmt,
                ImportMode(args.mode.upper()),
                limits=FileLimits.of(settings),
                atomic=not args.no_atomic,
                validate_only=args.validate_only,
                progress=lambda p: bar.progress(p.done, p.to_write),
            )

    outcome = asyncio.run(_with_session(settings, run))
    for error in outcome.errors:
        if error.field == ["file"]:
            print(f"{path}: {error.message}", file=sys.stderr)
    rows = outcome.value or []
    failed = [r for r in rows if r.errors]
    counts = {
        a: sum(1 for r in rows if r.action == a and not r.errors) for a in ("created", "updated", "unchanged")
    }
    print(
        f"created {counts['created']}, updated {counts['updated']}, unchanged {counts['unchanged']}, "
        f"failed {len(failed)}" + (" (validate only: nothing written)" if args.validate_only else "")
    )
    for r in failed[:SHOWN_REFUSALS]:
        for column, code, message in r.errors:
            print(f"  row {r.row} [{column or '-'}] {code}: {message}")
    if len(failed) > SHOWN_REFUSALS:
        more = len(failed) - SHOWN_REFUSALS
        print(
            f"  ... and {more} more refused rows" + ("" if errors_file else " (all of them: --errors FILE)")
        )
    if errors_file is not None:
        with errors_file:
            _write_refusals(errors_file, failed)
        print(f"every refused row's errors: {args.errors}")
    if failed and not args.no_atomic:
        print("atomic: nothing was written because of the refused rows")
    return 1 if failed or outcome.errors else 0


SHOWN_REFUSALS = 50  # refused rows printed; --errors FILE has them all


def _read(path: Any) -> bytes:
    try:
        return bytes(path.read_bytes())
    except OSError as exc:
        raise ConfigError(
            str(path), f"cannot be read ({exc.strerror})", "check the path and its permissions"
        ) from None


def _open_errors(name: str) -> Any:
    """The --errors file, opened before the import so that a bad path costs nothing."""
    try:
        return open(name, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(
            "--errors", f"{name} cannot be written ({exc.strerror})", "name a writable file"
        ) from None


def _write_refusals(out: Any, failed: Sequence[Any]) -> None:
    """Each refused row's errors, one a line, as CSV."""
    import csv

    writer = csv.writer(out)
    writer.writerow(["row", "column", "code", "message"])
    for r in failed:
        for column, code, message in r.errors:
            writer.writerow([r.row, column or "", code, message])


class _RowsBar:
    """tqdm's bar over the rows to write: shown once the file is read and checked (its total
    known), then with the percentage and the time left as the rows are written."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None

    def progress(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(desc=self.desc, total=total, unit="rows")
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> _RowsBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if settings.metrics_port:  # first: before anything here imports prometheus_client
        _serve_metrics(settings)
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    graphiql = "GraphiQL" if settings.graphiql_enabled else "GraphQL (GraphiQL off)"
    print(f"{graphiql}: http://{host}:{port}/graphql", flush=True)
    from ccgraph.logs import log_config

    uvicorn.run(
        "ccgraph.app:app_factory",
        # Applied by uvicorn in this process and in each worker it spawns.
        log_config=log_config(settings.log_level, settings.log_format),
        access_log=False,  # ccgraph.access logs each request
        factory=True,
        host=host,
        port=port,
        workers=args.workers or settings.workers,
        reload=args.reload,
        log_level=settings.log_level,
    )
    return 0


def _serve_metrics(settings: Settings) -> None:
    """`/metrics` on an address of its own, served by this process (README, "Metrics"). Each
    process writes its metrics to files in one folder (prometheus_client's multiprocess mode,
    chosen when prometheus_client is imported: so the folder goes into the environment first,
    and every worker started after inherits it); a scrape sums them. PROMETHEUS_MULTIPROC_DIR
    names the folder if set (a `ccgraph import` given the same one counts its rows there too);
    else it is a fresh one, removed at exit."""
    import tempfile
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):  # the last run's: prometheus_client asks for a clean start
            stale.unlink()
    else:
        folder = tempfile.mkdtemp(prefix="ccgraph-metrics-")
        _remove_at_exit(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder

    from ccgraph import metrics
    from ccgraph.services.mail import backlog

    def outbox() -> metrics.Backlog:
        read = _with_session(settings, lambda session: backlog(session, settings.mail_max_attempts))
        return asyncio.run(asyncio.wait_for(read, settings.db_connect_timeout_seconds))

    host, port = settings.metrics_host, settings.metrics_port
    try:
        metrics.serve(host, port, outbox)
    except OSError as exc:
        raise ConfigError(
            variable("metrics_port"),
            f"cannot listen on {host}:{port} ({exc.strerror})",
            "choose a free port (and CCGRAPH_METRICS_HOST), or 0 to turn metrics off",
        ) from None
    print(f"metrics: http://{host}:{port}/metrics", flush=True)


def _remove_at_exit(folder: str) -> None:
    """Remove `folder` when this process ends: normally, or by SIGTERM, which uvicorn hands to
    the handler it found once it has shut down (the process still ends by the signal)."""
    import atexit
    import shutil
    import signal

    atexit.register(shutil.rmtree, folder, ignore_errors=True)

    def terminated(signum: int, _frame: Any) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, terminated)


def _setting(name: str, text: str) -> str:
    """A flag's help: what it does, its default and its environment variable, from Settings."""
    return f"{text} (default: {getattr(Settings(), name)}; env {variable(name)})"


DATABASE_EPILOG = (
    f"The database is {variable('database_url')} (default: {DEFAULT_DATABASE_URL}); every setting "
    'is an environment variable (README, "Settings"). A setting that cannot work, or a database that '
    "cannot be reached, is one line on stderr and exit code 2."
)
# What a command needs of the database before it runs: to answer, or also to be migrated.
REACHABLE, MIGRATED = "reachable", "migrated"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccgraph", description="Contact-centre workforce GraphQL API", epilog=DATABASE_EPILOG
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version('ccgraph')}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, run: Any, database: str | None) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text, description=text, epilog=DATABASE_EPILOG if database else None)
        cmd.set_defaults(run=run, database=database)
        return cmd

    serve = command("serve", "serve the API (GraphiQL at /graphql)", cmd_serve, MIGRATED)
    serve.add_argument("--host", help=_setting("host", "address to listen on"))
    serve.add_argument("--port", type=int, help=_setting("port", "port to listen on"))
    serve.add_argument("--workers", type=int, metavar="N", help=_setting("workers", "worker processes"))
    serve.add_argument(
        "--reload", action="store_true", help="restart when the code changes, for development (default: off)"
    )
    init = command(
        "init", "migrate; create the first business unit and master administrator", cmd_init, REACHABLE
    )
    init.add_argument(
        "--admin-username",
        metavar="NAME",
        help=f"the master administrator's username (default: admin; env {ADMIN_USERNAME})",
    )
    init.add_argument(
        "--admin-password",
        metavar="PASSWORD",
        help=f"its password (default: generated and printed once; env {ADMIN_PASSWORD})",
    )
    init.add_argument(
        "--reset-admin-password",
        action="store_true",
        help="give the existing master administrator a new one-time password, printed once, and "
        "end their sessions; they choose a new password at the next sign-in (default: off)",
    )
    command("demo", "load the demo organisation (only into an empty business unit)", cmd_demo, MIGRATED)
    imp = command("import", "create or update users from a CSV or XLSX file", cmd_import, MIGRATED)
    imp.add_argument(
        "file",
        metavar="FILE",
        help="the CSV or XLSX file, its header row naming the columns; at most "
        + " and ".join(
            f"{getattr(Settings(), name)} {unit} (env {variable(name)})"
            for name, unit in (("max_upload_bytes", "bytes"), ("max_import_rows", "rows"))
        ),
    )
    imp.add_argument(
        "--format",
        choices=["csv", "xlsx"],
        help="the file's format (default: from the file name's extension)",
    )
    imp.add_argument(
        "--mode",
        choices=["create", "update", "upsert"],
        default="create",
        help="create new users, update existing ones, or either by username (default: create)",
    )
    imp.add_argument(
        "--no-atomic",
        action="store_true",
        help="write the good rows even if some are refused (default: off: one refused row, nothing written)",
    )
    imp.add_argument(
        "--validate-only", action="store_true", help="check everything, write nothing (default: off)"
    )
    imp.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="the user to act as; needs USERS_CREATE and USERS_EDIT (default: the master administrator)",
    )
    imp.add_argument(
        "--errors",
        metavar="FILE",
        help="write every refused row's errors to FILE as CSV: row, column, code, message (default: none)",
    )
    export = command("export-schema", "print the GraphQL SDL", cmd_export_schema, None)
    export.add_argument("--output", "-o", metavar="FILE", help="write it to FILE (default: standard output)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; a setting, argument or database that cannot work is one line on stderr
    and exit code 2, never a traceback."""
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.database:
            check(settings)
            asyncio.run(_probe(settings, migrated=args.database == MIGRATED))
        return int(args.run(args, settings))
    except ConfigError as error:
        print(f"ccgraph {args.command}: {error}", file=sys.stderr)
    except SQLAlchemyError as error:  # the database stopped answering while the command ran
        if not unreachable(error):
            raise
        print(f"ccgraph {args.command}: {_unreachable(settings, error)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
