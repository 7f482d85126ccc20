"""`make schema-check`: is every breaking change to the API since the last release in the changelog?

Compares `schema.graphql` with the schema of the newest release, `releases/vX.Y.Z.graphql` (a
snapshot committed when the release is cut, so the check needs no tags: shallow CI clones work),
using graphql-core's `find_breaking_changes` and `find_dangerous_changes`. Prints one line a change:

    BREAKING FIELD_REMOVED User.foo: Field User.foo was removed.
    DANGEROUS OPTIONAL_ARG_ADDED Query.users(page:): An optional argument Query.users(page:) was added.

A breaking change is listed when the `## [Unreleased]` section of CHANGELOG.md names its schema
coordinate (the first name in the description that the old or new schema resolves: `User.foo`,
`Query.users(page:)`, `UserRole`, `@skip`) in backticks, e.g. "- `User.foo` is removed: use
`User.bar`." Exit 1 when one is not listed, or when the snapshot of a tagged release is not the
schema.graphql of that tag; dangerous changes are warnings only. README, "Schema changes and deprecation".
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes
from graphql.utilities import resolve_schema_coordinate

ROOT = Path(__file__).resolve().parent.parent
RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\.graphql$")
# A name, then optionally `.member` and `(argument:)`; directives start with `@`.
COORDINATE = re.compile(
    r"@?[_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)?(?:\([_A-Za-z][_0-9A-Za-z]*:\))?"
)


def version(snapshot: Path) -> tuple[int, ...]:
    """(X, Y, Z) of `vX.Y.Z.graphql`, () for another file."""
    match = RELEASE.match(snapshot.name)
    return tuple(int(n) for n in match.groups()) if match else ()


def latest_release(releases: Path) -> Path:
    snapshots = [p for p in releases.iterdir() if version(p)]
    if not snapshots:
        raise SystemExit(f"schema-check: no release snapshot vX.Y.Z.graphql in {releases}")
    return max(snapshots, key=version)


def tag_mismatch(snapshot: Path) -> str | None:
    """When the release's tag is in this clone, its snapshot must be the schema.graphql it tagged."""
    tag = snapshot.name.removesuffix(".graphql")
    git = ["git", "-C", str(ROOT)]
    if subprocess.run(
        [*git, "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], capture_output=True
    ).returncode:
        return None
    tagged = subprocess.run(
        [*git, "show", f"{tag}:schema.graphql"], capture_output=True, text=True, check=True
    )
    if tagged.stdout != snapshot.read_text():
        return f"{snapshot} is not the schema.graphql of tag {tag}"
    return None


def unreleased(changelog: str) -> str:
    """The text of the `## [Unreleased]` section, up to the next release's heading."""
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", changelog, re.M | re.S)
    return match.group(1) if match else ""


def coordinate(description: str, old: GraphQLSchema, new: GraphQLSchema) -> str:
    for name in COORDINATE.findall(description):
        for schema in (old, new):
            try:
                if resolve_schema_coordinate(schema, name) is not None:
                    return name
            except Exception:  # not a coordinate of this schema (e.g. `.member` of a scalar)
                continue
    return description


def check(schema: Path, releases: Path, changelog: Path) -> int:
    release = latest_release(releases)
    old = build_schema(release.read_text())
    new = build_schema(schema.read_text())
    listed = set(re.findall(r"`([^`]+)`", unreleased(changelog.read_text())))
    breaking, unlisted = find_breaking_changes(old, new), []
    for change in breaking:
        name = coordinate(change.description, old, new)
        missing = name not in listed
        print(f"BREAKING {change.type.name} {name}: {change.description}{' (NOT IN CHANGELOG)' * missing}")
        if missing:
            unlisted.append(name)
    dangerous = find_dangerous_changes(old, new)
    for danger in dangerous:
        name = coordinate(danger.description, old, new)
        print(f"DANGEROUS {danger.type.name} {name}: {danger.description}")
    if problem := tag_mismatch(release):
        print(f"schema-check: {problem}", file=sys.stderr)
        return 1
    if unlisted:
        print(
            f"schema-check: {len(unlisted)} breaking change(s) since {release.stem} not listed in the "
            f"'## [Unreleased]' section of {changelog.name}: name each in backticks, e.g. `{unlisted[0]}`",
            file=sys.stderr,
        )
        return 1
    print(
        f"schema-check: {schema.name} against {release.stem}: "
        f"{len(breaking)} breaking (all in {changelog.name}), {len(dangerous)} dangerous"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--schema", type=Path, default=ROOT / "schema.graphql")
    args.add_argument("--releases", type=Path, default=ROOT / "releases")
    args.add_argument("--changelog", type=Path, default=ROOT / "CHANGELOG.md")
    parsed = args.parse_args(argv)
    return check(parsed.schema, parsed.releases, parsed.changelog)


if __name__ == "__main__":
    sys.exit(main())
