"""ccgraph's own GraphiQL page at /graphql: from files on this machine, with ccgraph's walkthrough.

No request leaves for another site. React, ReactDOM and GraphiQL are pinned in assets.json
(version, npm integrity, licence, each file's sha256) and fetched once, at install, by
scripts/fetch_graphiql.py into static/vendor/ (git-ignored); the page, its stylesheet and its
bootstrap script are ccgraph's, beside them. The page's Content-Security-Policy allows what
it loads from 'self' and nothing else: no inline script, styles from files plus the <style>
element GraphiQL's dialogs add, which carries the response's nonce. Without the vendor files
the page says how to fetch them instead of loading nothing.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from functools import cache
from os import PathLike, stat_result
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"
MOUNT = "/graphiql-assets"
# The page's URLs are relative (to /graphql), so that it works under a path prefix too.
ASSETS = MOUNT.lstrip("/")
FETCH_COMMAND = "python scripts/fetch_graphiql.py"


@dataclass(frozen=True, slots=True)
class Package:
    """One npm package pinned in assets.json, as served: static/vendor/<folder>/<file>."""

    name: str
    version: str
    folder: str
    files: tuple[str, ...]

    def url(self, file: str) -> str:
        return f"{ASSETS}/vendor/{self.folder}/{file}"

    def present(self) -> bool:
        return all((VENDOR / self.folder / file).is_file() for file in self.files)


@cache
def packages() -> dict[str, Package]:
    pinned = json.loads((HERE / "assets.json").read_text(encoding="utf-8"))["packages"]
    return {
        p["name"]: Package(p["name"], p["version"], p["folder"], tuple(Path(f).name for f in p["files"]))
        for p in pinned
    }


def missing() -> list[str]:
    """The pinned packages whose files are not installed (looked up at each page load: files
    fetched while the server runs are served at once)."""
    return [f"{p.name} {p.version}" for p in packages().values() if not p.present()]


@cache
def _template(name: str) -> string.Template:
    return string.Template((HERE / name).read_text(encoding="utf-8"))


@cache
def walkthrough() -> str:
    """The default document: sign in, change the one-time password, the README's query."""
    document = (HERE / "walkthrough.graphql").read_text(encoding="utf-8")
    if "</" in document or "<!--" in document:  # it sits in a <script type="application/graphql">
        raise ValueError("walkthrough.graphql may not contain '</' or '<!--'")
    return document


def content_security_policy(nonce: str) -> str:
    """Exactly what the page needs, from 'self': GraphiQL's fonts are data: URLs inside its
    stylesheet, its icons are inline SVG, and it talks to /graphql only."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def page() -> Response:
    """The GraphiQL page, or (503) what to run when its files are missing."""
    absent = missing()
    if absent:
        body = _template("unavailable.html").substitute(missing=", ".join(absent))
        policy = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        return HTMLResponse(body, status_code=503, headers={"content-security-policy": policy})
    nonce = secrets.token_urlsafe(18)
    react, react_dom, graphiql = (packages()[name] for name in ("react", "react-dom", "graphiql"))
    body = _template("page.html").substitute(
        assets=ASSETS,
        nonce=nonce,
        walkthrough=walkthrough(),
        react=react.url("react.production.min.js"),
        react_dom=react_dom.url("react-dom.production.min.js"),
        graphiql_js=graphiql.url("graphiql.min.js"),
        graphiql_css=graphiql.url("graphiql.min.css"),
    )
    return HTMLResponse(body, headers={"content-security-policy": content_security_policy(nonce)})


class Assets(StaticFiles):
    """The page's files. A vendor file's path names its version, so browsers keep it; ccgraph's
    own files are revalidated (their ETag) at each load."""

    def file_response(
        self, full_path: PathLike[str] | str, stat_result: stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = Path(full_path).resolve().is_relative_to(VENDOR.resolve())
        response.headers["cache-control"] = "public, max-age=31536000, immutable" if vendored else "no-cache"
        return response


def routes() -> list[Mount]:
    """The mount that serves the page's files (only when GraphiQL is on)."""
    return [Mount(MOUNT, app=Assets(directory=STATIC), name="graphiql-assets")]
