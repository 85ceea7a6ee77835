"""Structured logs: one JSON object a line, each with the request id of the request it belongs to.

The access log says who asked for what and how it went (id, method, route, status, sizes, time, the number
of conversations, error codes), never what a conversation says: text is logged only when the operator asks
for it (``serve --log-text``), as its own event.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
ACCESS = logging.getLogger("samtaleanalyse.access")
LOG = logging.getLogger("samtaleanalyse.service")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                               + f".{int(record.msecs):03d}Z",
                               "level": record.levelname.lower(), "logger": record.name,
                               "request_id": getattr(record, "request_id", None) or request_id.get()}
        fields = getattr(record, "fields", None)
        out["event"] = record.getMessage()
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "info") -> None:
    """JSON lines on standard error for the service's loggers (uvicorn's own access log is off)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("samtaleanalyse", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    # The id is taken now: a handler may format the line after the request is over.
    logger.log(level, name, extra={"fields": fields, "request_id": request_id.get()})
