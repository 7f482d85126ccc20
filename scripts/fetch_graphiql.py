"""Fetch GraphiQL's third-party files (React, ReactDOM, GraphiQL) for ccgraph to serve itself.

Run by `make install` and `make install-test` (so by `make run` and `make test`): it needs the
npm registry once, at install; after that GraphiQL works with no network at all, and nobody
needs Node. Plain Python, no dependency.

Every package, version, SRI integrity, licence and file taken is pinned in
src/ccgraph/graphiql/assets.json. Each tarball is checked against its integrity (the sha512
the registry publishes) before anything is read from it; each file taken, against its
sha256; the files land in src/ccgraph/graphiql/static/vendor/<package>-<version>/ (git-ignored)
with the package's LICENSE beside them. Run again, it checks the files there and downloads
nothing when they are all present and intact. Folders of versions no longer pinned are removed.

    python scripts/fetch_graphiql.py           # fetch what is missing or altered
    python scripts/fetch_graphiql.py --check   # exit 1 if anything is missing or altered

`NPM_CONFIG_REGISTRY` (npm's own variable) points it at a mirror of the registry; the
https_proxy variables are honoured as urllib honours them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "ccgraph" / "graphiql"
MANIFEST = PACKAGE / "assets.json"
VENDOR = PACKAGE / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"
ATTEMPTS = 3


class Refused(Exception):
    """A download that does not match its pin: nothing of it is written."""


class Unreachable(Refused):
    """The registry did not answer."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def intact(package: dict[str, Any]) -> bool:
    folder = VENDOR / package["folder"]
    for name, digest in package["files"].items():
        path = folder / Path(name).name
        if not path.is_file() or sha256(path.read_bytes()) != digest:
            return False
    return True


def source(package: dict[str, Any]) -> str:
    mirror = os.environ.get("NPM_CONFIG_REGISTRY", "").rstrip("/")
    url: str = package["source"]
    return mirror + url[len(REGISTRY) :] if mirror and url.startswith(REGISTRY) else url


def download(url: str) -> bytes:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body: bytes = response.read()
                return body
        except OSError as exc:
            if attempt == ATTEMPTS:
                raise Unreachable(f"{url}: {exc}") from None
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def check_integrity(package: dict[str, Any], tarball: bytes) -> None:
    """npm's `integrity`: the tarball's SHA-512, base64, as Subresource Integrity writes it."""
    algorithm, _, expected = package["integrity"].partition("-")
    if algorithm != "sha512":
        raise Refused(f"{package['name']}: only sha512 integrity is accepted, not {algorithm}")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise Refused(
            f"{package['name']} {package['version']}: the tarball's sha512 is {actual}, "
            f"not the pinned {expected}; nothing was written"
        )


def extract(package: dict[str, Any], tarball: bytes) -> None:
    """Only the pinned files, each checked, written beside each other under the package's folder."""
    taken: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name, digest in package["files"].items():
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise Refused(f"{package['name']}: package/{name} is not a file in the tarball")
            data = member.read()
            if sha256(data) != digest:
                raise Refused(f"{package['name']}: package/{name} has sha256 {sha256(data)}, not {digest}")
            taken[Path(name).name] = data
    folder = VENDOR / package["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in taken.items():
        partial = folder / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(folder / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if anything is missing")
    args = parser.parse_args(argv)
    packages = json.loads(MANIFEST.read_text())["packages"]
    wanting = [p for p in packages if not intact(p)]
    names = ", ".join(f"{p['name']} {p['version']}" for p in packages)
    if args.check:
        for p in wanting:
            print(f"GraphiQL assets: {p['name']} {p['version']} is missing or altered", file=sys.stderr)
        return 1 if wanting else 0
    for package in wanting:
        url = source(package)
        print(f"GraphiQL assets: fetching {url}", flush=True)
        try:
            tarball = download(url)
            check_integrity(package, tarball)
            extract(package, tarball)
        except Refused as refused:
            print(f"GraphiQL assets: {refused}", file=sys.stderr)
            if isinstance(refused, Unreachable):
                print(
                    "GraphiQL assets: the API works without them; GraphiQL at /graphql needs them. "
                    "Run `python scripts/fetch_graphiql.py` again where registry.npmjs.org answers.",
                    file=sys.stderr,
                )
            return 1
    pinned = {p["folder"] for p in packages}
    if VENDOR.is_dir():
        for stale in VENDOR.iterdir():
            if stale.is_dir() and stale.name not in pinned:
                shutil.rmtree(stale)
    print(f"GraphiQL assets: {'fetched' if wanting else 'present'} ({names})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
