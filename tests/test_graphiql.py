"""ccgraph's GraphiQL page over HTTP: served from ccgraph's own files (pinned, with their
licences), under a Content-Security-Policy that allows 'self' only; on in development, off in
production unless CCGRAPH_GRAPHIQL turns it on; a page saying how to fetch the files when
they are missing. The browser's view of it is tests/test_graphiql_browser.py."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import shutil
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccgraph import graphiql
from ccgraph.app import create_app
from ccgraph.config import Settings
from tests.conftest import cheap_settings

ROOT = Path(__file__).parent.parent
HTML = {"accept": "text/html"}


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ccgraph.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield client


@pytest.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(cheap_settings(database)):
        yield c


@pytest.fixture
async def production(database: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(cheap_settings(database, env="production", secret_key="k")):
        yield c


@pytest.fixture
async def production_with_graphiql(database: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(cheap_settings(database, env="production", secret_key="k", graphiql=True)):
        yield c


def directives(policy: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in policy.split("; ")}


async def test_the_page_loads_only_ccgraph_s_own_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>ccgraph" in page.text and "Strawberry" not in page.text
    assert "//" not in re.sub(r"<script type=\"application/graphql\".*?</script>", "", page.text, flags=re.S)
    scripts = re.findall(r"<script([^>]*)>", page.text)
    # No inline script: each one loads a file, but the walkthrough, which is data.
    assert all(
        'src="' in attrs or attrs == ' type="application/graphql" id="ccgraph-walkthrough"'
        for attrs in scripts
    )
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(urls) == 7
    for url in urls:
        asset = await client.get(f"/{url}")  # relative to /graphql
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"]
        assert kind.split(";")[0] in {"text/javascript", "text/css", "image/svg+xml"}, (url, kind)


async def test_the_content_security_policy_allows_self_and_the_response_s_nonce(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/graphql", headers=HTML)
    second = await client.get("/graphql", headers=HTML)
    policy = directives(first.headers["content-security-policy"])
    nonce = re.search(r'data-style-nonce="([^"]+)"', first.text)
    assert nonce and len(nonce.group(1)) >= 22
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": f"'self' 'nonce-{nonce.group(1)}'",
        "connect-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert nonce.group(1) not in second.text  # a new one for each response
    assert first.headers["x-frame-options"] == "DENY" and first.headers["cache-control"] == "no-store"


async def test_vendor_files_are_the_pinned_ones_with_their_licences(client: httpx.AsyncClient) -> None:
    pinned = json.loads((ROOT / "src/ccgraph/graphiql/assets.json").read_text())["packages"]
    assert {(p["name"], p["version"].split(".")[0]) for p in pinned} == {
        ("react", "18"),
        ("react-dom", "18"),
        ("graphiql", "3"),
    }
    for package in pinned:
        assert package["integrity"].startswith("sha512-") and package["license"] == "MIT"
        assert package["source"] == (
            f"https://registry.npmjs.org/{package['name']}/-/{package['name']}-{package['version']}.tgz"
        )
        assert "LICENSE" in package["files"]
        for name, digest in package["files"].items():
            served = await client.get(f"/graphiql-assets/vendor/{package['folder']}/{Path(name).name}")
            assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == digest
            assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    own = await client.get("/graphiql-assets/ccgraph-graphiql.js")
    assert own.headers["cache-control"] == "no-cache" and "shouldPersistHeaders: false" in own.text
    assert (await client.get("/graphiql-assets/../config.py")).status_code == 404


async def test_without_its_files_the_page_says_how_to_fetch_them(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(graphiql, "VENDOR", tmp_path / "nothing-here")
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "python scripts/fetch_graphiql.py" in page.text and "make install" in page.text
    assert "react 18.3.1, react-dom 18.3.1, graphiql 3.9.0" in page.text
    assert "<script" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    api = await client.post("/graphql", json={"query": "{ __typename }"})
    assert api.json() == {"data": {"__typename": "Query"}}  # the API does not need them


async def test_off_in_production(production: httpx.AsyncClient) -> None:
    page = await production.get("/graphql", headers=HTML)
    assert "graphiql" not in page.text.lower()
    assert (await production.get("/graphiql-assets/ccgraph-graphiql.js")).status_code == 404


async def test_turned_on_in_production_under_its_own_policy(
    production_with_graphiql: httpx.AsyncClient,
) -> None:
    page = await production_with_graphiql.get("/graphql", headers=HTML)
    assert page.status_code == 200 and "ccgraph-graphiql.js" in page.text
    assert directives(page.headers["content-security-policy"])["script-src"] == "'self'"
    assert "max-age" in page.headers["strict-transport-security"]
    # The API's answers keep production's policy: nothing may load from anywhere.
    api = await production_with_graphiql.post("/graphql", json={"query": "{ __typename }"})
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, True),
        ({"CCGRAPH_ENV": "production"}, False),
        ({"CCGRAPH_ENV": "production", "CCGRAPH_GRAPHIQL": "true"}, True),
        ({"CCGRAPH_GRAPHIQL": "false"}, False),
        ({"CCGRAPH_GRAPHIQL": "1"}, True),
    ],
)
def test_the_setting(environ: dict[str, Any], enabled: bool) -> None:
    assert Settings.from_env(environ).graphiql_enabled is enabled


def test_the_walkthrough_runs_the_readme_s_query() -> None:
    readme = (ROOT / "README.md").read_text()
    query = readme[readme.index("## A nested query") :].split("```graphql\n", 1)[1].split("```", 1)[0]
    assert query in graphiql.walkthrough()


def fetcher() -> Any:
    """scripts/fetch_graphiql.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("fetch_graphiql", ROOT / "scripts/fetch_graphiql.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def pin(files: dict[str, bytes], tgz: bytes) -> dict[str, Any]:
    return {
        "name": "thing",
        "version": "1.0.0",
        "folder": "thing-1.0.0",
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }


def test_the_fetch_takes_only_pinned_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch = fetcher()
    monkeypatch.setattr(fetch, "VENDOR", tmp_path)
    files = {"dist/thing.min.js": b"thing()", "LICENSE": b"MIT"}
    good = tarball(files)
    package = pin(files, good)
    assert not fetch.intact(package)

    tampered = tarball({**files, "dist/thing.min.js": b"evil()"})
    with pytest.raises(fetch.Refused, match="not the pinned"):
        fetch.check_integrity(package, tampered)
    # A tarball that matches its integrity but not a file's pin (a wrong pin) writes nothing.
    with pytest.raises(fetch.Refused, match="sha256"):
        fetch.extract({**pin(files, tampered), "files": package["files"]}, tampered)
    assert not (tmp_path / "thing-1.0.0" / "thing.min.js").exists()

    fetch.check_integrity(package, good)
    fetch.extract(package, good)
    assert (tmp_path / "thing-1.0.0" / "thing.min.js").read_bytes() == b"thing()"
    assert (tmp_path / "thing-1.0.0" / "LICENSE").read_bytes() == b"MIT"
    assert fetch.intact(package)
    (tmp_path / "thing-1.0.0" / "thing.min.js").write_bytes(b"altered()")
    assert not fetch.intact(package)  # so the next `make install` fetches it again
