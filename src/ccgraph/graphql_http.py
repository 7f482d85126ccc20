"""GraphQL over HTTP as the specification (https://graphql.github.io/graphql-over-http/) and
the common clients have it, around Strawberry's view:

- **Content negotiation**: a client that accepts `application/graphql-response+json` gets it,
  and a request that cannot execute (a document that does not parse or validate, variables
  that do not coerce, an unknown persisted query) is a 4xx without a `data` entry. Anyone
  else gets `application/json` and 200, as before the specification.
- **Persisted documents**: Apollo's automatic persisted queries (the client sends
  `extensions.persistedQuery.sha256Hash`; an unknown hash is `PERSISTED_QUERY_NOT_FOUND`, and
  the client then sends the document with its hash, which is verified and kept for every
  worker); or, with `CCGRAPH_TRUSTED_DOCUMENTS`, only the documents of a manifest run.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from strawberry.http import GraphQLRequestData

from ccgraph.config import ConfigError, Settings
from ccgraph.services import persisted_queries

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
NEGOTIATED = "media_type"  # request.state: what the answer is
CANNOT_EXECUTE = "cannot_execute"  # request.state: the operation never ran (4xx in GRAPHQL_RESPONSE)
TO_KEEP = "persisted_query_to_keep"  # request.state: a document sent with its hash, kept if it ran

# Errors that mean the request as a whole could not execute.
REQUEST_ERRORS = frozenset(
    {
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "TOO_MANY_TOKENS",
        "INTROSPECTION_DISABLED",
        "QUERY_TOO_COMPLEX",
        "BAD_USER_INPUT",
    }
)


def media_type(request: Request) -> str:
    """What the client accepts: the specification's type when it names it (with a non-zero
    quality), else JSON."""
    state = request.scope.setdefault("state", {})
    if NEGOTIATED not in state:
        chosen = JSON
        for part in request.headers.get("accept", "").split(","):
            kind, *parameters = (p.strip() for p in part.split(";"))
            if kind.lower() == GRAPHQL_RESPONSE and not any(
                p.replace(" ", "") in ("q=0", "q=0.0") for p in parameters
            ):
                chosen = GRAPHQL_RESPONSE
                break
        state[NEGOTIATED] = chosen
    negotiated: str = state[NEGOTIATED]
    return negotiated


def cannot_execute(response: dict[str, Any]) -> bool:
    """The operation never ran: no data, and only errors of the request itself."""
    errors = response.get("errors")
    return (
        response.get("data") is None
        and bool(errors)
        and all((e.get("extensions") or {}).get("code") in REQUEST_ERRORS for e in errors or ())
    )


class DocumentError(Exception):
    """A persisted document the server cannot run: answered as a GraphQL error with `code`;
    400, but for an unknown hash, which is the protocol's question ("send the document"),
    answered 200 to JSON clients (where Apollo's link looks for it) and 400 to the
    specification's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        return 200 if self.code == "PERSISTED_QUERY_NOT_FOUND" else 400


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: str) -> dict[str, str]:
    """A trusted documents manifest: GraphQL Code Generator's `persisted-documents.json`
    (`{"<sha256>": "<document>"}`) or Apollo's persisted query manifest
    (`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`). Every
    hash must be the SHA-256 of its document."""
    setting = "CCGRAPH_TRUSTED_DOCUMENTS"
    try:
        manifest = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(
            setting, f"cannot read {path} ({exc.strerror})", "give a readable JSON file"
        ) from None
    except ValueError:
        raise ConfigError(setting, f"{path} is not JSON", "give a persisted documents manifest") from None
    if isinstance(manifest, dict) and manifest.get("format") == "apollo-persisted-query-manifest":
        entries = {op.get("id"): op.get("body") for op in manifest.get("operations") or ()}
    else:
        entries = manifest if isinstance(manifest, dict) else {}
    documents: dict[str, str] = {}
    for key, document in entries.items():
        digest = str(key).removeprefix("sha256:")
        if not isinstance(document, str) or sha256(document) != digest:
            raise ConfigError(
                setting, f"{path}: {key!r} is not the SHA-256 of its document", "regenerate the manifest"
            )
        documents[digest] = document
    if not documents:
        raise ConfigError(setting, f"{path} holds no documents", "give a persisted documents manifest")
    return documents


class Documents:
    """Where the text of an operation comes from when a request sends a hash."""

    CACHED = 1000  # documents a worker keeps in memory (they never change: a hash names one text)

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.limit = settings.persisted_queries_max
        self.trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else None
        self.cache: OrderedDict[str, str] = OrderedDict()

    async def resolve(
        self, request: Request, data: GraphQLRequestData, document_id: Any
    ) -> GraphQLRequestData:
        """The request with its document: sent, found by its hash, or refused."""
        digest = _requested_hash(data.extensions, document_id)
        if self.trusted is not None:
            return self._trusted(data, digest)
        if digest is None:
            return data
        if data.query is None:
            return replace(data, query=await self._find(digest))
        if sha256(data.query) != digest:
            raise DocumentError(
                "PERSISTED_QUERY_HASH_MISMATCH",
                "The sha256Hash is not the SHA-256 of the query sent with it.",
            )
        if digest not in self.cache:
            request.scope.setdefault("state", {})[TO_KEEP] = (digest, data.query)
        return data

    def _trusted(self, data: GraphQLRequestData, digest: str | None) -> GraphQLRequestData:
        assert self.trusted is not None
        if digest is None:
            if data.query is None or sha256(data.query) not in self.trusted:
                raise DocumentError(
                    "PERSISTED_QUERY_NOT_IN_LIST",
                    "Only the operations of this server's trusted documents run here; send one by its hash.",
                )
            return data
        document = self.trusted.get(digest)
        if document is None:
            raise DocumentError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        if data.query is not None and data.query != document:
            raise DocumentError(
                "PERSISTED_QUERY_HASH_MISMATCH", "The query sent is not the trusted document with this hash."
            )
        return replace(data, query=document)

    async def _find(self, digest: str) -> str:
        document = self.cache.get(digest)
        if document is None:
            async with self.sessions() as session:
                document = await persisted_queries.find(session, digest)
            if document is None:
                # Apollo's clients look for this message, or for the code
                raise DocumentError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            self._remember(digest, document)
        return document

    async def keep(self, request: Request) -> None:
        """After a document sent with its hash has run: keep it for every worker."""
        pending = request.scope.get("state", {}).pop(TO_KEEP, None)
        if pending is None:
            return
        digest, document = pending
        async with self.sessions() as session:
            await persisted_queries.keep(session, digest, document, self.limit)
        self._remember(digest, document)

    def _remember(self, digest: str, document: str) -> None:
        self.cache[digest] = document
        self.cache.move_to_end(digest)
        while len(self.cache) > self.CACHED:
            self.cache.popitem(last=False)


def _requested_hash(extensions: dict[str, Any] | None, document_id: Any) -> str | None:
    """The hash a request names: `documentId` (`sha256:<hex>`, the persisted documents
    proposal of the specification) or Apollo's `extensions.persistedQuery`."""
    if isinstance(document_id, str) and document_id:
        return document_id.removeprefix("sha256:").lower()
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise DocumentError(
            "PERSISTED_QUERY_NOT_SUPPORTED", "Only version 1 of persisted queries is supported."
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise DocumentError("BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a SHA-256 in hex.")
    return digest.lower()
