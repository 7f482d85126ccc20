"""Which kind of operation a request asks for, read before anything runs: the idempotency
check (http.py) keeps the answers of mutations only."""

from __future__ import annotations

from graphql import GraphQLError, parse
from graphql.utilities import get_operation_ast


def operation_kind(query: str, operation_name: str | None, max_tokens: int) -> str | None:
    """ "query", "mutation" or "subscription"; None when the document does not parse or names no
    single operation to run (Strawberry refuses such a request itself, and nothing runs)."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return None
    operation = get_operation_ast(document, operation_name)
    return operation.operation.value if operation is not None else None
