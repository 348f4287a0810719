"""Logging for the portal: structured (one JSON object a line), no PHI and no tokens.

Our own log lines carry only ids. The uvicorn access log is stripped of query strings, so nothing a
client puts in a URL query ends up in a log file. Exceptions are logged as their class name and the
route template only, never a traceback or the exception's message: a database error quotes key
values (an MRN), and uvicorn's own "Exception in ASGI application" record would otherwise carry
the full traceback with local values in it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any


class StripQueryFilter(logging.Filter):
    """Drops the query string from uvicorn access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], path, *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "route"?, "error"?}``; tracebacks are dropped."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        route = _current_route()
        if route:
            entry["route"] = route
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)

    def formatException(self, ei: Any) -> str:
        return ""  # never a traceback: frames and messages can carry patient data

    def formatStack(self, stack_info: str) -> str:
        return ""


#: The route template of the request being served, filled in when the app is done with it, so
#: uvicorn's own error record (logged after the app returns, in the same task) can name it.
current_route: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "visitdesk_route", default=None
)


def _current_route() -> str | None:
    holder = current_route.get()
    return holder.get("route") if holder else None


def install_access_log_filter() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, StripQueryFilter) for f in access.filters):
        access.addFilter(StripQueryFilter())


def logging_config(level: str = "INFO") -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"strip_query": {"()": StripQueryFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["strip_query"],
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "visitdesk": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
