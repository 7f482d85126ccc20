"""ccgraph serve | init | demo | export-schema"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from ccgraph.config import Settings


async def _with_session(settings: Settings, work):
    from ccgraph.db.engine import create_engine, session_factory

    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


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
    from ccgraph.services.bootstrap import initialize

    asyncio.run(migrate(settings))
    print(f"database migrated: {settings.database_url}")
    result = asyncio.run(
        _with_session(
            settings,
            lambda s: initialize(
                s, Passwords(settings), admin_username=args.admin_username, admin_password=args.admin_password
            ),
        )
    )
    if not result.created:
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

    from tqdm import tqdm

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
    content = path.read_bytes()
    if len(content) > settings.max_upload_bytes:
        print(f"{path}: larger than CCGRAPH_MAX_UPLOAD_BYTES ({settings.max_upload_bytes})", file=sys.stderr)
        return 2

    async def run(session):
        principal = await principal_for_user(session, args.as_user)
        if principal is None:
            return None
        needed = [Permission.USERS_CREATE, Permission.USERS_EDIT]
        if principal.missing(tuple(needed)):
            print(
                f"{principal.username} lacks {', '.join(p.value for p in principal.missing(tuple(needed)))}",
                file=sys.stderr,
            )
            return None
        with tqdm(desc=f"importing {path.name}", unit="rows") as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.n)

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
                progress=progress,
            )

    outcome = asyncio.run(_with_session(settings, run))
    if outcome is None:
        print("no such enabled user to import as (see --as)", file=sys.stderr)
        return 2
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
    for r in failed[:50]:
        for column, code, message in r.errors:
            print(f"  row {r.row} [{column or '-'}] {code}: {message}")
    if failed and not args.no_atomic:
        print("atomic: nothing was written because of the rows above")
    return 1 if failed or outcome.errors else 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    print(f"GraphiQL: http://{host}:{port}/graphql", flush=True)
    from ccgraph.logs import log_config

    uvicorn.run(
        "ccgraph.app:app_factory",
        # Applied by uvicorn in this process and in each worker it spawns.
        log_config=log_config(settings.log_level, settings.log_format),
        access_log=False,  # ccgraph.access logs each request
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        reload=args.reload,
        log_level=settings.log_level,
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ccgraph", description="Contact-centre workforce GraphQL API")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (GraphiQL at /graphql)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true")
    serve.set_defaults(run=cmd_serve)
    init = sub.add_parser("init", help="migrate; create the first business unit and master administrator")
    init.add_argument("--admin-username", default=os.environ.get("CCGRAPH_ADMIN_USERNAME", "admin"))
    init.add_argument("--admin-password", default=os.environ.get("CCGRAPH_ADMIN_PASSWORD"))
    init.set_defaults(run=cmd_init)
    demo = sub.add_parser("demo", help="load the demo organisation (only into an empty business unit)")
    demo.set_defaults(run=cmd_demo)
    imp = sub.add_parser("import", help="create or update users from a CSV or XLSX file")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["csv", "xlsx"], help="default: from the file name")
    imp.add_argument("--mode", choices=["create", "update", "upsert"], default="create")
    imp.add_argument("--no-atomic", action="store_true", help="write the good rows even if some are bad")
    imp.add_argument("--validate-only", action="store_true", help="check everything, write nothing")
    imp.add_argument("--as", dest="as_user", help="the user to act as (default: the master administrator)")
    imp.set_defaults(run=cmd_import)
    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o")
    export.set_defaults(run=cmd_export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args, Settings.from_env())


if __name__ == "__main__":
    raise SystemExit(main())
