"""The observability settings, read from the environment with ``service.config.env_value`` (so
each is registered in ``service.config.ENVIRONMENT``).

Kept out of ``Settings`` because logging must be set up before anything else is built (in the
gunicorn master, before the app; in a Celery worker, before the tasks), from the environment
alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal, cast

from service.config import ConfigError, env_value

LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_format(default: LogFormat, environ: Mapping[str, str] | None = None) -> LogFormat:
    """``LOG_FORMAT``, else ``default``: the caller knows whether a person or a log pipeline
    reads its output (``policy-eval serve``: text; gunicorn and workers: JSON)."""
    raw = (env_value("LOG_FORMAT", environ) or default).lower()
    if raw not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {raw!r}")
    return cast(LogFormat, raw)


def log_level(default: str | int = "INFO", environ: Mapping[str, str] | None = None) -> int:
    """``LOG_LEVEL`` (a name), else ``default`` (a name or a ``logging`` number)."""
    raw = env_value("LOG_LEVEL", environ)
    if raw is None:
        return default if isinstance(default, int) else logging.getLevelName(default.upper())
    if raw.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    level: int = logging.getLevelName(raw.upper())
    return level


def metrics_directory(environ: Mapping[str, str] | None = None) -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``: where every process writes its metrics; ``None`` keeps
    them in this process's memory."""
    return env_value("PROMETHEUS_MULTIPROC_DIR", environ)
