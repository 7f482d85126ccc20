"""Schema extensions: the request's session is closed after each operation, and errors are
sorted into those the client may read and those it must not (masked, logged with a request id)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import OperationalError
from strawberry.extensions import SchemaExtension

from ccgraph.metrics import EXECUTION
from ccgraph.services.errors import InputError
from ccgraph.services.outage import unreachable

log = logging.getLogger("ccgraph.errors")


class RequestLifecycle(SchemaExtension):
    """Names the operation for the access log (and hands its execution to the metrics when
    they ask), and closes the request's session at the end."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        try:
            yield
        finally:
            request = getattr(context, "request", None)
            if request is not None:
                try:
                    request.state.operation = self.execution_context.operation_name
                except Exception:  # an unparsable document has no operation to name
                    request.state.operation = None
                # Asked for by the metrics (they take it back, so no cycle outlives the
                # request): its result, errors as the client reads them, is final once the
                # request is answered, also when parsing raised.
                state = request.scope.get("state", {})
                if EXECUTION in state:
                    state[EXECUTION] = self.execution_context
            if hasattr(context, "close"):
                await context.close()


class ErrorPolicy(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._shown(error) for error in errors]  # type: ignore[union-attr]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each event a subscription pushes, as each answer: its errors shown or masked."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._shown(error) for error in errors]
        yield

    def _shown(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # our own coded errors
        if unreachable(original):
            context = self.execution_context.context
            response = getattr(context, "response", None)
            if response is not None:
                response.status_code = 503
            request_id = getattr(context, "request_id", None)
            log.warning("database unreachable (request id %s): %s", request_id, original.__class__.__name__)
            return GraphQLError(
                f"The database cannot be reached (request id {request_id}); retry later.",
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions={"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
            )
        if isinstance(original, OperationalError) and "locked" in str(original):
            return GraphQLError(
                "The database is busy; nothing was written. Retry in a moment.",
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions={"code": "DATABASE_BUSY"},
            )
        if isinstance(original, InputError):
            return GraphQLError(
                str(original),
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions={"code": "BAD_USER_INPUT", "argument": original.argument},
            )
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("unexpected error (request id %s) at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            f"Internal server error (request id {request_id}).",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )


def coded(error: GraphQLError) -> None:
    """A parse or validation error (or a variable that does not coerce) gets a code a client
    can branch on, Apollo's names; an error that has one keeps it."""
    message = error.message
    raised = error.original_error is not None and not isinstance(error.original_error, GraphQLError)
    if (error.extensions or {}).get("code") or (raised and not message.startswith("Variable '$")):
        return  # coded already, or a resolver's exception (ErrorPolicy decides what it shows)
    if message.startswith("Syntax Error"):
        code = "TOO_MANY_TOKENS" if "tokens" in message else "GRAPHQL_PARSE_FAILED"
    elif message.startswith("Variable '$"):
        code = "BAD_USER_INPUT"
    elif "introspection" in message.lower():
        code = "INTROSPECTION_DISABLED"
    elif error.path is not None:  # found while executing: an argument's value (a malformed ID)
        code = "BAD_USER_INPUT"
    else:
        code = "GRAPHQL_VALIDATION_FAILED"
    error.extensions = {**(error.extensions or {}), "code": code}
