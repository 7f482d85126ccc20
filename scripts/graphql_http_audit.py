"""The GraphQL-over-HTTP audit of graphql-http (the specification's reference implementation,
https://github.com/graphql/graphql-http) against a live ccgraph: starts `ccgraph serve` on a
free port with a fresh SQLite database, installs the pinned audit (npm, once, into
scripts/graphql-http-audit/node_modules), runs it and prints each warning or error and the
totals ("ok 61 warn 0 error 0"). Needs Node and npm; ccgraph itself never does.

    python scripts/graphql_http_audit.py      (or: make http-audit)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDIT = Path(__file__).parent / "graphql-http-audit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install() -> None:
    if not (AUDIT / "node_modules" / "graphql-http").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, capture_output=True)


def audit() -> str:
    """The audit's output (its last line holds the totals)."""
    install()
    with tempfile.TemporaryDirectory() as scratch:
        environ = os.environ | {
            "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/audit.db",
            "CCGRAPH_MAIL_POLL_SECONDS": "0",
            "CCGRAPH_LOG_LEVEL": "info",  # the start-up line is how the script knows it is up
        }
        ccgraph = [sys.executable, "-m", "ccgraph"]
        subprocess.run([*ccgraph, "init"], env=environ, check=True, capture_output=True)
        port = free_port()
        log = Path(scratch) / "serve.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [*ccgraph, "serve", "--port", str(port)],
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
            try:
                deadline = time.monotonic() + 30
                while "Application startup complete" not in log.read_text():
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log.read_text()[-2000:])
                    time.sleep(0.1)
                done = subprocess.run(
                    ["node", "audit.mjs", f"http://127.0.0.1:{port}/graphql"],
                    cwd=AUDIT,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                if done.returncode != 0:
                    raise RuntimeError(done.stdout + done.stderr)
                return done.stdout
            finally:
                server.terminate()
                server.wait(timeout=15)


if __name__ == "__main__":
    print(audit(), end="")
