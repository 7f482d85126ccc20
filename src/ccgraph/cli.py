"""ccgraph serve | init | demo | export-schema"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from ccgraph.config import Settings


async def _with_session(settings: Settings, work):  # noqa: ANN001, ANN202
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


def cmd_export_schema(args: argparse.Namespace, _settings: Settings) -> int:
    from ccgraph.schema.schema import schema

    sdl = schema.as_str() + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    print(f"GraphiQL: http://{host}:{port}/graphql", flush=True)
    uvicorn.run(
        "ccgraph.app:app_factory",
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
    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o")
    export.set_defaults(run=cmd_export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args, Settings.from_env())


if __name__ == "__main__":
    raise SystemExit(main())
