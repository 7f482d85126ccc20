"""Logging: one format for every process and worker (README, "Logs").

Every line goes to stderr through the standard library's logging, formatted by structlog's
`ProcessorFormatter`: ccgraph's loggers, uvicorn's and any library's alike, so that each line
is one JSON object (`CCGRAPH_LOG_FORMAT=json`, the default) with its time, level, logger,
message, process id, the request id of the request it belongs to, the trace and span ids of
the OpenTelemetry span that is active, and a traceback as one string field. `text` renders the
same fields as a readable console line.

structlog, rather than python-json-logger: the same processors render both formats, and its
context variables carry the request id from the middleware to every line the request logs,
wherever in the code that is.

`ccgraph serve` hands `log_config(...)` to uvicorn, which applies it in the parent process and
again in each worker it spawns."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from ccgraph.config import LOG_FORMATS

try:
    from opentelemetry import trace
except ImportError:  # tracing is optional
    trace = None  # type: ignore[assignment]

FORMATS = LOG_FORMATS
REQUEST_ID = "requestId"
# The fields a JSON line starts with, in this order; the rest follow as they were added.
HEAD = ("timestamp", "level", "logger", "message", "pid", REQUEST_ID, "trace_id", "span_id")
# Record attributes that are not the caller's fields: uvicorn's coloured copy of its message,
# and what other formatters (pytest's, for one) leave on a record they formatted first.
NOT_FIELDS = ("color_message", "message", "asctime")


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Every line logged within carries this request id."""
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID: request_id}):
        yield


def _fields(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The process id, and the caller's own fields (`extra=`) without the record's noise."""
    record: logging.LogRecord = event["_record"]
    event["pid"] = record.process
    for key in NOT_FIELDS:
        event.pop(key, None)
    return event


def _trace(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The ids of the active OpenTelemetry span, as W3C trace context writes them (hex)."""
    if trace is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event["trace_id"] = format(context.trace_id, "032x")
            event["span_id"] = format(context.span_id, "016x")
    return event


def _ordered(_logger: Any, _name: str, event: EventDict) -> EventDict:
    ordered = {key: event.pop(key) for key in HEAD if key in event}
    ordered.update(event)
    return ordered


def _renderer(log_format: str) -> list[Processor]:
    if log_format == "text":
        return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), event_key="message")]
    return [
        structlog.processors.format_exc_info,  # the traceback as the `exception` string
        _ordered,
        structlog.processors.JSONRenderer(default=str),
    ]


def formatter(log_format: str = "json") -> logging.Formatter:
    """The formatter of every handler (`log_config` names it for `logging.config`)."""
    if log_format not in FORMATS:
        raise ValueError(f"CCGRAPH_LOG_FORMAT: {log_format!r} is not one of {', '.join(FORMATS)}")
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.ExtraAdder(),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _fields,
            _trace,
            structlog.processors.EventRenamer("message"),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(log_format)],
    )


def log_config(level: str = "info", log_format: str = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: one stderr handler on the root logger, which
    uvicorn's loggers propagate to (its access log is off: `ccgraph.access` writes one line
    per request). Plain data, so that uvicorn can hand it to the workers it spawns."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ccgraph": {"()": f"{__name__}.formatter", "log_format": log_format}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "ccgraph", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            # Alembic announces its plugins at INFO in every process that reads the migrations.
            "alembic": {"level": "WARNING"},
        },
    }
