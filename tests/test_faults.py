"""Faults: the server process killed in the middle of a bulk import leaves all of it or none."""

import os
import re
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from ccgraph.config import Settings
from ccgraph.services import sample_import

ROWS = 10_000  # enough for the progress bar to show a count well inside the write


def written(progress: bytes) -> int:
    """The last row count the import's progress bar showed, e.g. ` 1500/10000 [00:01<00:05, ...`
    (the rows written of the rows to write)."""
    counts = re.findall(rb" (\d+)/\d+ \[", progress)
    return int(counts[-1]) if counts else 0


def test_kill_9_during_an_import_leaves_all_or_nothing(tmp_path):
    db = tmp_path / "faults.db"
    env = os.environ | {
        "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    py = [sys.executable, "-m", "ccgraph"]
    subprocess.run(
        [*py, "init", "--admin-password", "admin-password-1"], env=env, check=True, capture_output=True
    )
    sample_import.prepare(Settings.from_env(env))
    data = tmp_path / "users.csv"
    sample_import.write_file(data, ROWS)

    process = subprocess.Popen(
        [*py, "import", str(data)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    progress = b""
    deadline = time.monotonic() + 60
    while not 1000 <= written(progress) < ROWS and time.monotonic() < deadline:  # well into the transaction
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, f"the import ended before it could be killed: {progress[-300:]!r}"
        progress += chunk
    assert 1000 <= written(progress) < ROWS, progress[-500:]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 1  # the administrator only
        assert (
            conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'user.create'")).scalar() == 0
        )
    engine.dispose()

    again = subprocess.run([*py, "import", str(data)], env=env, capture_output=True, text=True)
    assert f"created {ROWS}" in again.stdout, again.stdout + again.stderr
