"""examples/typescript-codegen: TypeScript types generated from schema.graphql for the README's
nested query compile against a small program that uses them. Runs when npm is on the PATH (the
first run installs the pinned packages into the example's node_modules, about 15 s; later runs
reuse them)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "typescript-codegen"


def readme_query() -> str:
    section = (ROOT / "README.md").read_text().split("## A nested query", 1)[1]
    found = re.search(r"```graphql\n(.*?)```", section, re.S)
    assert found, "the README's nested query is a graphql block"
    return found.group(1)


def test_the_example_generates_types_for_the_readme_s_query():
    assert (EXAMPLE / "agents.graphql").read_text() == readme_query()


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_generated_types_compile():
    def run(*command: str) -> None:
        done = subprocess.run(command, cwd=EXAMPLE, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    if not (EXAMPLE / "node_modules" / ".bin" / "graphql-codegen").exists():
        run("npm", "ci", "--no-audit", "--no-fund")
    generated = EXAMPLE / "generated" / "graphql.ts"
    generated.unlink(missing_ok=True)
    run("npm", "run", "check")
    assert "export type AgentsQuery = " in generated.read_text()
