"""GraphiQL as a person meets it after `make run`: headless Chromium (Debian's package, driven
by Playwright) opens /graphql of a real `ccgraph serve` with every request to anywhere but
that server refused, and follows the page's walkthrough in the editor: signs in with the
one-time password `ccgraph init` printed, finds everything else answering
PASSWORD_CHANGE_REQUIRED, puts the token in the Headers tab, changes the password and runs
the README's query, reading Gilda Moss's effective capacity (50, from USER) in the result
pane. No request may leave, no Content-Security-Policy violation or console error may
happen, and the token may not be kept in the browser. A screenshot is left in
test-artifacts/graphiql.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEW_PASSWORD = "a-password-of-my-own"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


def readme_query() -> str:
    """The first GraphQL block under the README's "A nested query"."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## A nested query") :]
    return section.split("```graphql\n", 1)[1].split("```", 1)[0]


def chromium() -> Path:
    """Debian's Chromium; installed here if missing and this user may (`.ci/run` installs it
    first in CI, where this test must run)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"],
            env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=900,
            check=False,
        )
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (apt-get install chromium)")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ccgraph(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ccgraph", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`ccgraph init`, `ccgraph demo` and `ccgraph serve` on a fresh SQLite file, as `make run`
    does: the base URL and the one-time password init printed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCGRAPH_")} | {
        "CCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ccgraph.db'}",
        "CCGRAPH_ARGON2_TIME_COST": "1",
        "CCGRAPH_ARGON2_MEMORY_KIB": "8",
        "CCGRAPH_MAIL_POLL_SECONDS": "0",
        "CCGRAPH_LOG_LEVEL": "warning",
    }
    printed = ccgraph("init", env=env)
    password = re.search(r"one-time password:\s+(\S+)", printed)
    assert password, printed
    ccgraph("demo", env=env)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ccgraph", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.1)
        yield base, password.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def editor_text(page: Page, selector: str) -> str:
    """What a CodeMirror editor holds (it draws only the lines in view)."""
    return str(page.eval_on_selector(selector, "element => element.CodeMirror.getValue()"))


def replace_text(page: Page, selector: str, text: str) -> None:
    """Select everything in an editor and type over it (as a paste: no auto-closed brackets)."""
    page.click(selector)
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def put_cursor_in(page: Page, line: str) -> None:
    """Click on a line of the query editor, which selects that line's operation: from the
    top, a page down at a time until the line is drawn."""
    page.click(QUERY_EDITOR)
    page.keyboard.press("Control+Home")
    wanted = page.locator(f"{QUERY_EDITOR} .CodeMirror-line", has_text=line)
    for _ in range(10):
        if wanted.count():
            wanted.first.click(position={"x": 60, "y": 5})  # on its first words
            return
        page.keyboard.press("PageDown")
    raise AssertionError(f"no line {line!r} in the query editor")


def answer(page: Page, run: Any) -> dict[str, Any]:
    """Run something, then wait for a new answer in the result pane and read it."""
    before = editor_text(page, RESPONSE)
    run()
    page.wait_for_function(
        """([selector, before]) => {
             const value = document.querySelector(selector).CodeMirror.getValue();
             return value !== before && value.trim().startsWith("{");
           }""",
        arg=[RESPONSE, before],
        timeout=10_000,
    )
    result: dict[str, Any] = json.loads(editor_text(page, RESPONSE))
    return result


def test_the_walkthrough_in_chromium_with_the_network_cut_off(server: tuple[str, str]) -> None:
    base, one_time = server
    executable = chromium()
    left: list[str] = []  # requests for anywhere but the server: refused, and must be none
    failed: list[str] = []
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def only_the_server(route: Any) -> None:
            if route.request.url.startswith(f"{base}/"):
                route.continue_()
            else:
                left.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_server)
        # Violations of the page's Content-Security-Policy, as the page itself hears of them.
        context.add_init_script(
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)

        response = page.goto(f"{base}/graphql")
        assert response is not None and response.status == 200
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.wait_for_selector(QUERY_EDITOR)
        assert page.title().startswith("ccgraph")
        assert page.inner_text(".graphiql-logo") == "ccgraph"
        assert '"Authorization": "Bearer <token>"' in page.inner_text(".ccgraph-banner")
        # A dialog adds a <style> element: allowed by the response's nonce, not by 'unsafe-inline'.
        page.get_by_role("button", name="Open settings dialog").click()
        page.wait_for_selector(".graphiql-dialog")
        page.keyboard.press("Escape")

        # The walkthrough is the default document, the README's query in it word for word.
        walkthrough = editor_text(page, QUERY_EDITOR)
        assert readme_query() in walkthrough
        assert {"mutation SignIn", "mutation ChangePassword", "query Agents"} <= set(
            re.findall(r"^(?:mutation|query) \w+", walkthrough, re.M)
        )
        # As a person would: the placeholders replaced with the one-time and the new password.
        mine = walkthrough.replace("ONE-TIME-PASSWORD", one_time).replace('"NEW"', f'"{NEW_PASSWORD}"')
        replace_text(page, QUERY_EDITOR, mine)

        # 1. Sign in: the run button lists the document's operations.
        def sign_in() -> None:
            page.click(".graphiql-execute-button")
            page.get_by_role("menuitem", name="SignIn").click()

        login = answer(page, sign_in)["data"]["login"]
        assert login["userErrors"] == [] and login["token"]
        token = login["token"]

        # 2. The token in the Headers tab, then the README query: not before a password change.
        page.get_by_role("button", name="Headers").click()
        headers_editor = ".graphiql-editor-tool .CodeMirror >> visible=true"
        replace_text(page, headers_editor, json.dumps({"Authorization": f"Bearer {token}"}))

        def run_agents() -> None:
            put_cursor_in(page, "query Agents")
            page.keyboard.press("Control+Enter")

        refused = answer(page, run_agents)
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["PASSWORD_CHANGE_REQUIRED"]

        def change_password() -> None:
            put_cursor_in(page, "mutation ChangePassword")
            page.keyboard.press("Control+Enter")

        changed = answer(page, change_password)["data"]["viewerPasswordChange"]
        assert changed["userErrors"] == []
        assert changed["user"] == {"username": "admin", "mustChangePassword": False}

        # 3. The README's query, answered.
        agents = answer(page, run_agents)
        assert "errors" not in agents
        moss = next(
            e["node"] for e in agents["data"]["users"]["edges"] if e["node"]["fullName"] == "Gilda Moss"
        )
        assert moss["effectiveSettings"]["capacity"] == {"value": 50, "source": "USER"}
        # On screen too: her capacity's lines brought into view in the result pane.
        lines = [text.strip() for text in editor_text(page, RESPONSE).splitlines()]
        line = lines.index('"capacity": {')
        page.eval_on_selector(RESPONSE, f"e => e.CodeMirror.scrollIntoView({{line: {line + 3}}}, 200)")
        shown = [text.strip() for text in page.locator(f"{RESPONSE} .CodeMirror-line").all_inner_texts()]
        at = shown.index('"capacity": {')
        assert shown[at + 1 : at + 3] == ['"value": 50,', '"source": "USER"']

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "graphiql.png"))

        page.wait_for_timeout(700)  # GraphiQL stores its tabs half a second after a change
        kept = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
        violations = page.evaluate("window.violations")
        # Reloaded, the page has the document back but not the token.
        page.reload()
        page.wait_for_selector(QUERY_EDITOR)
        page.get_by_role("button", name="Headers").click()
        assert "query Agents" in editor_text(page, QUERY_EDITOR)
        assert token not in editor_text(page, headers_editor)
        violations += page.evaluate("window.violations")
        browser.close()

    assert left == [], f"requests for elsewhere: {left}"
    assert failed == [] and console == [] and violations == []
    assert token not in kept and "graphiql:headers" not in kept  # headers are never stored
    assert json.loads(kept)[0] == []  # nothing in localStorage at all
