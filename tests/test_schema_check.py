"""`make schema-check` (scripts/schema_check.py): a breaking change to the schema since the last
release fails unless the changelog's Unreleased section names it; dangerous changes only warn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / "scripts" / "schema_check.py"
RELEASED = (ROOT / "releases" / "v0.1.0.graphql").read_text()
REMOVED_FIELD = "  accessKeyId: String!\n"
EMPTY_UNRELEASED = "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n\nThe first release.\n"


def schema_check(tmp_path: Path, schema: str, changelog: str, releases: dict[str, str] | None = None):
    (tmp_path / "schema.graphql").write_text(schema)
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    (tmp_path / "releases").mkdir()
    for name, text in (releases or {"v0.1.0.graphql": RELEASED}).items():
        (tmp_path / "releases" / name).write_text(text)
    args = ["--schema", "schema.graphql", "--releases", "releases", "--changelog", "CHANGELOG.md"]
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def without_field() -> str:
    assert RELEASED.count(REMOVED_FIELD) == 1
    return RELEASED.replace(REMOVED_FIELD, "")


def test_a_removed_field_not_in_the_changelog_fails(tmp_path):
    run = schema_check(tmp_path, without_field(), EMPTY_UNRELEASED)
    assert run.returncode == 1
    assert (
        "BREAKING FIELD_REMOVED AccessKey.accessKeyId: Field AccessKey.accessKeyId was removed." in run.stdout
    )
    assert "`AccessKey.accessKeyId`" in run.stderr


def test_a_removed_field_listed_under_unreleased_passes(tmp_path):
    changelog = EMPTY_UNRELEASED.replace(
        "## [Unreleased]\n",
        "## [Unreleased]\n\n### Removed\n\n- `AccessKey.accessKeyId`: deprecated in 0.1.0.\n",
    )
    run = schema_check(tmp_path, without_field(), changelog)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BREAKING FIELD_REMOVED AccessKey.accessKeyId" in run.stdout
    assert "1 breaking (all in CHANGELOG.md)" in run.stdout


def test_a_removal_listed_only_under_a_past_release_fails(tmp_path):
    changelog = EMPTY_UNRELEASED + "\n### Removed\n\n- `AccessKey.accessKeyId`\n"
    assert schema_check(tmp_path, without_field(), changelog).returncode == 1


def test_a_dangerous_change_only_warns(tmp_path):
    schema = RELEASED.replace("  CSV\n", "  CSV\n  ODS\n", 1)
    run = schema_check(tmp_path, schema, EMPTY_UNRELEASED)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "DANGEROUS VALUE_ADDED_TO_ENUM " in run.stdout
    assert "0 breaking" in run.stdout and "1 dangerous" in run.stdout


def test_the_newest_release_is_by_version_not_by_name(tmp_path):
    run = schema_check(
        tmp_path,
        without_field(),
        EMPTY_UNRELEASED,
        {"v0.9.0.graphql": RELEASED, "v0.10.0.graphql": without_field()},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "against v0.10.0" in run.stdout


def test_a_tagged_release_s_snapshot_must_be_its_schema(tmp_path):
    tagged = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "-q", "--verify", "refs/tags/v0.1.0"])
    if tagged.returncode:
        pytest.skip("no tag v0.1.0 in this clone")
    run = schema_check(tmp_path, without_field(), EMPTY_UNRELEASED, {"v0.1.0.graphql": without_field()})
    assert run.returncode == 1
    assert "is not the schema.graphql of tag v0.1.0" in run.stderr


def test_the_tree_s_schema_has_every_breaking_change_in_the_changelog():
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
