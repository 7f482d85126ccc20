"""The command line as an operator meets it: `init` and `demo` on a fresh database file, as
`make run` calls them; `import` with its bar and refused rows; the help, the version, and
every setting that cannot work refused in one line with exit code 2."""

import argparse
import csv
import os
import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from ccgraph.cli import parser
from ccgraph.config import Settings
from ccgraph.services import sample_import


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


def ccgraph(args, env=None, **kw):
    """`python -m ccgraph ARGS` with `env` over a cheap-hashing environment; never raises."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CCGRAPH_")}
    base |= {"CCGRAPH_ARGON2_TIME_COST": "1", "CCGRAPH_ARGON2_MEMORY_KIB": "8", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ccgraph", *args],
        capture_output=True,
        text=True,
        env=base | (env or {}),
        timeout=120,
        **kw,
    )


def sqlite(path):
    return f"sqlite+aiosqlite:///{path}"


BAD_SETTINGS = {
    "nonsense URL": (
        {"CCGRAPH_DATABASE_URL": "nonsense"},
        "CCGRAPH_DATABASE_URL: 'nonsense' is not a database URL",
    ),
    "nonsense URL with a password": (
        {"CCGRAPH_DATABASE_URL": "postgres ql://ccgraph:hunter2@db/ccgraph"},
        "CCGRAPH_DATABASE_URL: its value is not a database URL",
    ),
    "unsupported backend": (
        {"CCGRAPH_DATABASE_URL": "mysql://u:p@localhost/db"},
        "mysql backend is not supported",
    ),
    "sync SQLite": (
        {"CCGRAPH_DATABASE_URL": "sqlite:///x.db"},
        "use sqlite+aiosqlite:// instead of sqlite://",
    ),
    "sync PostgreSQL": ({"CCGRAPH_DATABASE_URL": "postgresql://u@h/db"}, "use postgresql+asyncpg://"),
    "missing folder": ({"CCGRAPH_DATABASE_URL": sqlite("{tmp}/missing/x.db")}, "missing does not exist"),
    "a folder for a file": ({"CCGRAPH_DATABASE_URL": sqlite("{tmp}")}, "is a folder, not a database file"),
    "a file SQLite cannot open": (
        {"CCGRAPH_DATABASE_URL": sqlite("/proc/ccgraph.db")},
        "cannot reach the database at sqlite+aiosqlite:////proc/ccgraph.db",
    ),
    "production without a secret key": (
        {"CCGRAPH_ENV": "production", "CCGRAPH_DATABASE_URL": sqlite("{tmp}/x.db")},
        "CCGRAPH_SECRET_KEY: not set, and CCGRAPH_ENV=production requires it",
    ),
    "bad integer": ({"CCGRAPH_PORT": "80a"}, "CCGRAPH_PORT: '80a' is not a whole number"),
    "bad integer elsewhere": (
        {"CCGRAPH_MAX_IMPORT_ROWS": "ten"},
        "CCGRAPH_MAX_IMPORT_ROWS: 'ten' is not a whole",
    ),
    "unknown log format": ({"CCGRAPH_LOG_FORMAT": "xml"}, "CCGRAPH_LOG_FORMAT: 'xml' is not a log format"),
    "bad number": ({"CCGRAPH_DB_CONNECT_TIMEOUT_SECONDS": "soon"}, "'soon' is not a number"),
    "unreachable PostgreSQL": (
        {
            "CCGRAPH_DATABASE_URL": "postgresql+asyncpg://ccgraph:hunter2@127.0.0.1:1/ccgraph",
            "CCGRAPH_DB_CONNECT_TIMEOUT_SECONDS": "3",
        },
        "cannot reach the database at postgresql+asyncpg://ccgraph:***@127.0.0.1:1/ccgraph",
    ),
    "unmigrated database": (
        {"CCGRAPH_DATABASE_URL": sqlite("{tmp}/empty.db")},
        "the database at sqlite+aiosqlite:///{tmp}/empty.db is not migrated; run `ccgraph init`",
    ),
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_serve_refuses_a_bad_setting_in_one_line_with_exit_code_2(case, tmp_path):
    env, said = (
        {k: v.format(tmp=tmp_path) for k, v in BAD_SETTINGS[case][0].items()},
        BAD_SETTINGS[case][1].format(tmp=tmp_path),
    )
    result = ccgraph(["serve", "--port", "0"], env)  # it would serve forever if it started
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ccgraph serve: CCGRAPH_"), (
        result.stderr
    )
    assert said in result.stderr
    assert "hunter2" not in result.stderr


def test_a_command_without_the_database_still_refuses_a_bad_number_and_ignores_the_url(tmp_path):
    bad = ccgraph(["export-schema"], {"CCGRAPH_SQLITE_BUSY_TIMEOUT_MS": "5s"})
    assert (bad.returncode, bad.stderr.count("\n")) == (
        2,
        1,
    ) and "CCGRAPH_SQLITE_BUSY_TIMEOUT_MS" in bad.stderr
    ok = ccgraph(["export-schema"], {"CCGRAPH_DATABASE_URL": "mysql://nowhere/db"})
    assert ok.returncode == 0 and "type Query" in ok.stdout


def test_the_other_database_commands_check_the_database_too(tmp_path):
    missing = {"CCGRAPH_DATABASE_URL": sqlite(tmp_path / "no" / "x.db")}
    for args in (["init"], ["demo"], ["import", "users.csv"]):
        result = ccgraph(args, missing)
        assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
        assert "CCGRAPH_DATABASE_URL: the folder" in result.stderr
    fresh = {"CCGRAPH_DATABASE_URL": sqlite(tmp_path / "fresh.db")}
    assert "run `ccgraph init`" in ccgraph(["demo"], fresh).stderr  # demo needs the tables
    assert ccgraph(["init"], fresh).returncode == 0  # init only needs the database to answer


def flag_helps(command):
    """Each flag of `command` and its help, as the parser holds them."""
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {
        action.option_strings[-1] if action.option_strings else action.dest: action.help
        for action in sub.choices[command]._actions
        if not isinstance(action, argparse._HelpAction)
    }


@pytest.mark.parametrize("command", ["serve", "import", "init", "export-schema"])
def test_help_lists_every_flag_with_its_default_and_variable(command):
    shown = " ".join(ccgraph([command, "--help"]).stdout.split())
    helps = flag_helps(command)
    assert helps
    for flag, help_text in helps.items():
        assert help_text and " ".join(help_text.split()) in shown, flag
        if flag.startswith("--"):
            assert flag in shown and "(default: " in help_text, flag
    if command == "serve":
        for flag, name in (("--host", "HOST"), ("--port", "PORT"), ("--workers", "WORKERS")):
            default = getattr(Settings(), name.lower())
            assert f"(default: {default}; env CCGRAPH_{name})" in helps[flag]
    if command == "import":
        assert "env CCGRAPH_MAX_IMPORT_ROWS" in helps["file"]


def test_version_comes_from_the_package_metadata():
    result = ccgraph(["--version"])
    assert result.returncode == 0 and result.stdout == f"ccgraph {version('ccgraph')}\n"


def test_the_workers_setting_and_flag():
    assert Settings.from_env({"CCGRAPH_WORKERS": "3"}).workers == 3
    assert parser().parse_args(["serve", "--workers", "2"]).workers == 2


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A migrated database with the sample import's catalog (teams, skills, the Agent profile)."""
    db = tmp_path_factory.mktemp("import") / "import.db"
    run(["init", "--admin-password", "admin-password-1"], db)
    sample_import.prepare(Settings.from_env({"CCGRAPH_DATABASE_URL": sqlite(db)}))
    return db


def test_import_shows_a_bar_with_the_total_and_a_percentage(catalog, tmp_path):
    data = tmp_path / "users.csv"
    sample_import.write_file(data, 1200)
    result = ccgraph(["import", "--validate-only", str(data)], {"CCGRAPH_DATABASE_URL": sqlite(catalog)})
    assert result.returncode == 0, result.stderr
    bar = result.stderr.replace("\r", "\n")
    assert re.search(r"importing users\.csv:\s+0%\|.*\| 0/1200 \[", bar), bar  # the total, before the write
    assert re.search(r" 100%\|.*\| 1200/1200 \[\d\d:\d\d<00:00, ", bar), bar  # elapsed<remaining
    assert "created 1200, updated 0, unchanged 0, failed 0 (validate only" in result.stdout


def test_import_counts_every_refused_row_and_writes_them_all_on_request(catalog, tmp_path):
    data = tmp_path / "users.csv"
    sample_import.write_file(data, 60)
    lines = data.read_text().splitlines()
    for i in range(1, 54):  # 53 rows with a bad email
        lines[i] = lines[i].replace("@example.com", "-at-example")
    data.write_text("\n".join(lines) + "\n")
    errors = tmp_path / "refused.csv"
    env = {"CCGRAPH_DATABASE_URL": sqlite(catalog)}

    result = ccgraph(["import", str(data)], env)
    assert result.returncode == 1
    assert "failed 53" in result.stdout
    assert len(re.findall(r"^  row \d+ \[email\] INVALID", result.stdout, re.M)) == 50
    assert "  ... and 3 more refused rows (all of them: --errors FILE)\n" in result.stdout
    assert "nothing was written" in result.stdout

    again = ccgraph(["import", str(data), "--errors", str(errors)], env)
    assert "  ... and 3 more refused rows\n" in again.stdout and str(errors) in again.stdout
    with errors.open(newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["row", "column", "code", "message"]
    assert [int(r[0]) for r in table[1:]] == list(range(2, 55))
    assert {(r[1], r[2]) for r in table[1:]} == {("email", "INVALID")}
    assert all("not a valid e-mail address" in r[3] for r in table[1:])


def test_a_missing_file_or_errors_file_is_one_line(catalog, tmp_path):
    env = {"CCGRAPH_DATABASE_URL": sqlite(catalog)}
    missing = ccgraph(["import", str(tmp_path / "nope.csv")], env)
    assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
    assert "nope.csv: cannot be read (No such file or directory)" in missing.stderr
    data = tmp_path / "users.csv"
    sample_import.write_file(data, 1)
    unwritable = ccgraph(["import", str(data), "--errors", str(tmp_path / "no" / "e.csv")], env)
    assert (unwritable.returncode, unwritable.stderr.count("\n")) == (2, 1)
    assert "--errors:" in unwritable.stderr and "Traceback" not in unwritable.stderr
