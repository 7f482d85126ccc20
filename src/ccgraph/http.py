"""HTTP around the API: security headers on every response, a cap on request bodies, and one
JSON access-log line per request (request id, operation, user, duration, status). Nothing a
request carries in its body is logged."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccgraph.config import Settings

access_log = logging.getLogger("ccgraph.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def refusal(code: str, message: str, request_id: str | None, **extensions: Any) -> bytes:
    """The JSON body of a request the server will not run: a GraphQL error with a code and the
    request id, whatever went wrong (a bad body, an outage, a size)."""
    return json.dumps(
        {
            "errors": [
                {"message": message, "extensions": {"code": code, "requestId": request_id, **extensions}}
            ]
        }
    ).encode()


class BodyTooLarge(Exception):
    pass


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-store",
    }
    if settings.production:  # no GraphiQL page to serve: nothing may load from anywhere
        headers["content-security-policy"] = "default-src 'none'; frame-ancestors 'none'"
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return headers


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.headers = [(k.encode(), v.encode()) for k, v in security_headers(settings).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        state = scope.setdefault("state", {})
        request_headers = dict(scope.get("headers") or ())
        incoming = request_headers.get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        length = request_headers.get(b"content-length")
        received = 0

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = MutableHeaders(scope=message)
                for key, value in self.headers:
                    if key.decode() not in headers:
                        headers.append(key.decode(), value.decode())
                headers["x-request-id"] = state["request_id"]
            await send(message)

        try:
            if length is not None and length.isdigit() and int(length) > self.limit:
                raise BodyTooLarge
            await self.app(scope, guarded_receive, guarded_send)
        except BodyTooLarge:
            if status["sent"]:
                raise
            message = f"The request body is larger than {self.limit} bytes."
            await self._refuse(guarded_send, 413, refusal("REQUEST_TOO_LARGE", message, state["request_id"]))
        except Exception:
            # A fault no layer below answered: JSON with the request id, the details in the log.
            access_log.exception("unhandled error (request id %s)", state["request_id"])
            if status["sent"]:
                raise
            message = f"Internal server error (request id {state['request_id']})."
            await self._refuse(
                guarded_send, 500, refusal("INTERNAL_SERVER_ERROR", message, state["request_id"])
            )
        finally:
            self._log(scope, state, status["code"], started)

    @staticmethod
    async def _refuse(send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, state: dict[str, Any], status: int, started: float) -> None:
        access_log.info(
            json.dumps(
                {
                    "requestId": state.get("request_id"),
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "operation": state.get("operation"),
                    "user": state.get("user"),
                    "status": status,
                    "durationMs": round((time.perf_counter() - started) * 1000, 1),
                }
            )
        )


def configure_logging(level: str = "info") -> None:
    """Plain message lines (the access log is JSON already), unless the host configured logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level.upper(), format="%(message)s")
