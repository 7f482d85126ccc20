"""A lost master administrator's password: `ccgraph init --reset-admin-password`, run by
someone with shell access to the server, prints a new one-time password; the old password
and every session of theirs stop working, they must choose a new password at the next
sign-in, and the audit trail says it was done from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccgraph.app import create_app
from tests.conftest import Api, cheap_settings

MINE = "my-own-password-1"
NESTED = "{ users(first: 1) { totalCount } }"
CHANGE = """mutation Change($current: String!, $new: String!) {
  viewerPasswordChange(input: {currentPassword: $current, newPassword: $new, newPasswordConfirmation: $new}) {
    user { mustChangePassword } userErrors { code message }
  }
}"""


def ccgraph(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCGRAPH_")} | {
        "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
    }
    return subprocess.run(
        [sys.executable, "-m", "ccgraph", *args], capture_output=True, text=True, env=env, timeout=120
    )


def one_time_password(out: str) -> str:
    found = re.search(r"^one-time password:\s+(\S+)$", out, re.M)
    assert found, out
    return found.group(1)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ccgraph.db"


@pytest.fixture
async def served(db: Path) -> AsyncIterator[tuple[Api, str]]:
    """The server on the database the commands work on, over HTTP, and the one-time password
    `ccgraph init` printed."""
    first = ccgraph("init", db=db)
    assert first.returncode == 0, first.stderr
    app = create_app(cheap_settings(f"sqlite+aiosqlite:///{db}", mail_poll_seconds=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client), one_time_password(first.stdout)


async def change(api: Api, token: str, current: str, new: str) -> dict[str, Any]:
    body = await api.post(CHANGE, {"current": current, "new": new}, token=token)
    return dict(body["data"]["viewerPasswordChange"])


async def code_of(api: Api, query: str, token: str) -> str | None:
    response = await api.client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    errors = response.json().get("errors") or [{}]
    return (errors[0].get("extensions") or {}).get("code")


async def test_a_lost_password_is_replaced_by_a_one_time_password(served: tuple[Api, str], db: Path) -> None:
    api, first = served
    signed_in = await api.login("admin", first)
    assert (await change(api, signed_in, first, MINE))["userErrors"] == []
    other = await api.login("admin", MINE)  # a second session

    reset = ccgraph("init", "--reset-admin-password", db=db)
    assert reset.returncode == 0, reset.stderr
    assert "master administrator: admin (password reset; 2 sessions ended)" in reset.stdout
    new = one_time_password(reset.stdout)
    assert new not in (first, MINE) and len(new) >= 16

    # The old password and both sessions are gone.
    assert await api.refused(NESTED, f"Bearer {signed_in}") == "TOKEN_REVOKED"
    assert await api.refused(NESTED, f"Bearer {other}") == "TOKEN_REVOKED"
    refused = await api.post(
        'mutation($p: String!) { login(input: {username: "admin", password: $p}) { token userErrors { code } } }',
        {"p": MINE},
    )
    assert refused["data"]["login"] == {"token": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}

    # The new one works once: everything but the password change waits for a new password.
    token = await api.login("admin", new)
    assert await code_of(api, NESTED, token) == "PASSWORD_CHANGE_REQUIRED"
    assert (await change(api, token, new, "another-password-2")) == {
        "user": {"mustChangePassword": False},
        "userErrors": [],
    }
    assert await code_of(api, NESTED, token) is None

    events = await api.post(
        """{ auditEvents(filter: {action: USER_PASSWORD_RESET}) {
               nodes { actorUsername targetLabel fieldChanges { field after } } } }""",
        token=token,
    )
    assert events["data"]["auditEvents"]["nodes"] == [
        {
            "actorUsername": "admin",
            "targetLabel": "admin",
            "fieldChanges": [
                {"field": ["passwordGenerated"], "after": True},
                {"field": ["resetBy"], "after": "ccgraph init --reset-admin-password"},
                {"field": ["sessionsRevoked"], "after": 2},
            ],
        }
    ]


def test_on_a_fresh_database_it_creates_the_administrator(db: Path) -> None:
    out = ccgraph("init", "--reset-admin-password", db=db)
    assert out.returncode == 0, out.stderr
    assert "master administrator: admin\n" in out.stdout and one_time_password(out.stdout)


def test_a_chosen_password_is_refused_with_it(db: Path) -> None:
    out = ccgraph("init", "--reset-admin-password", "--admin-password", "a-long-secret-1", db=db)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(
        "ccgraph init: --admin-password: cannot be given with --reset-admin-password"
    )
    assert one_time_password(ccgraph("init", db=db).stdout)  # the refused command created nobody
