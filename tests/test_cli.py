"""`ccgraph init` and `ccgraph demo` on a fresh database file, as `make run` calls them."""

import os
import subprocess
import sys


def run(args, db_path):
    env = os.environ | {
        "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    return subprocess.run(
        [sys.executable, "-m", "ccgraph", *args], capture_output=True, text=True, env=env, check=True
    ).stdout


def test_init_prints_a_one_time_password_once_and_demo_loads_once(tmp_path):
    db = tmp_path / "fresh.db"
    first = run(["init"], db)
    assert "master administrator: admin" in first and "one-time password:" in first
    again = run(["init"], db)
    assert "one-time password" not in again and "exists" in again
    assert "demo organisation loaded" in run(["demo"], db)
    assert "not loaded" in run(["demo"], db)


def test_init_with_a_given_password_prints_none(tmp_path):
    out = run(["init", "--admin-username", "root", "--admin-password", "a-long-secret-1"], tmp_path / "x.db")
    assert "root" in out and "a-long-secret-1" not in out


def test_import_a_csv_from_the_command_line(tmp_path):
    db = tmp_path / "cli.db"
    run(["init", "--admin-password", "admin-password-1"], db)
    run(["demo"], db)
    good = tmp_path / "users.csv"
    good.write_text(
        "username,firstName,lastName,email,team,securityProfiles,skills\n"
        "new.agent,New,Agent,new.agent@example.com,Tier 1,Agent,English=3\n"
    )
    out = run(["import", str(good)], db)
    assert "created 1, updated 0, unchanged 0, failed 0" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("username,firstName,lastName,email,securityProfiles\nx1,X,One,not-an-email,Agent\n")
    env = os.environ | {"CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    result = subprocess.run(
        [sys.executable, "-m", "ccgraph", "import", str(bad)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert "row 2 [email] INVALID" in result.stdout and "nothing was written" in result.stdout
