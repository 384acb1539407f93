"""Structured logs: one handler on the root logger, JSON or text, every record stamped with the
ids of the request, task and decision it belongs to.

The ids live in context variables, set by the HTTP middleware (``request_id``) and the Celery
signal handlers (``task_id``, the request id carried in the task's headers, and ``decision_id``
once the evaluation is decided). A filter on the handler copies them onto each record, so no call
site passes them along and a record logged by a library during a request (celery, redis,
werkzeug) carries them too.

``configure`` is for processes that own their logging (a gunicorn worker, ``policy-eval serve``,
a Celery worker through its ``setup_logging`` signal); ``dict_config`` gives gunicorn's master the
same set-up so its own messages are JSON as well. Both install the handler once: a process that
already has it (a gunicorn worker forked from a configured master) keeps it.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from service.observability import settings
from service.observability.settings import LogFormat

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)
decision_id: ContextVar[str | None] = ContextVar("decision_id", default=None)
CONTEXT: dict[str, ContextVar[str | None]] = {
    "request_id": request_id, "task_id": task_id, "decision_id": decision_id,
}

HANDLER_NAME = "policy-eval"  # how ``configure`` recognizes a root logger it already set up
# Celery attaches the task's arguments and return value to its records as ``data``: in JSON they
# would put whole proposals in the log, past the decision log's field mask.
DROPPED = ("data",)
# Quieter unless LOG_LEVEL=DEBUG: werkzeug's request lines repeat the access line that
# service.observability.http writes, and Celery's "succeeded" lines repeat each task's whole
# result (the evaluation's own line says what was decided; failures are still logged as errors).
QUIETED = {"werkzeug": logging.WARNING, "celery.app.trace": logging.WARNING}


class ContextFilter(logging.Filter):
    """Copies the context ids onto each record (unless the record brings its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in CONTEXT.items():
            value = variable.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


def _utc_time(record: logging.LogRecord) -> str:
    # ISO 8601 in UTC with milliseconds: what log pipelines parse without a format hint
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


class JsonLogFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, pid, message, then the context ids and any
    ``extra`` fields the call passed."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "process", "message"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                           "process": "pid"},
            reserved_attrs=[*RESERVED_ATTRS, *DROPPED],
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)


# What would start another line, or hide or reorder text, in a log read as lines: the C0 and
# C1 controls, the Unicode line and paragraph separators, the bidirectional controls.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """``text`` on one line: each unsafe character as its escape (``\\n``, ``\\x1b``,
    ``\\u2028``), so that no value a client sent (an id, a path) can forge a log line."""
    return _UNSAFE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"),
                       text)


class TextLogFormatter(logging.Formatter):
    """A line for people: time, level, pid, logger, message, then the context ids. The line
    is escaped (``escape``); a traceback follows on lines of its own, as Python prints it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # before the traceback, which ``format`` appends after this
        text = super().formatMessage(record)
        ids = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT
                       if getattr(record, name, None))
        return escape(f"{text} [{ids}]" if ids else text)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonLogFormatter() if log_format == "json" else TextLogFormatter()


def handler(log_format: LogFormat) -> logging.Handler:
    found = logging.StreamHandler(sys.stderr)
    found.set_name(HANDLER_NAME)
    found.setFormatter(formatter(log_format))
    found.addFilter(ContextFilter())
    return found


def configured() -> bool:
    return any(h.get_name() == HANDLER_NAME for h in logging.getLogger().handlers)


def configure(default_format: LogFormat, level: str | int | None = None) -> None:
    """Log to stderr in ``LOG_FORMAT`` (else ``default_format``) at ``LOG_LEVEL`` (else
    ``level``, else INFO). Once per process: a second call changes nothing."""
    if configured():
        return
    root = logging.getLogger()
    root.setLevel(settings.log_level(level if level is not None else "INFO"))
    root.addHandler(handler(settings.log_format(default_format)))
    if root.level > logging.DEBUG:
        for name, quiet in QUIETED.items():
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(quiet)


def dict_config(default_format: LogFormat) -> dict[str, Any]:
    """The same set-up as ``configure``, as gunicorn's ``logconfig_dict``.

    gunicorn's error log propagates to the root handler; its access log is off, because the app
    writes one access line per request carrying the request id (``service.observability.http``).
    """
    log_format = settings.log_format(default_format)
    level = settings.log_level()
    quieted = QUIETED if level > logging.DEBUG else {}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"policy-eval": {"()": lambda: formatter(log_format)}},
        "handlers": {HANDLER_NAME: {"class": "logging.StreamHandler",
                                    "stream": "ext://sys.stderr",
                                    "formatter": "policy-eval", "filters": ["context"]}},
        "root": {"level": logging.getLevelName(level), "handlers": [HANDLER_NAME]},
        "loggers": {
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            **{name: {"level": logging.getLevelName(quiet)} for name, quiet in quieted.items()},
        },
    }
