"""gunicorn's settings for the API, from the environment:
``gunicorn -c python:service.api.gunicorn_conf service.api.wsgi:app`` (the Dockerfile's command).

Command-line options still win over these (``--workers 4``). Besides the server settings this
module does what only the master process can do for the metrics shared between processes (see
``service.observability.multiproc``): fold the files of stopped processes into the host's
archive before the workers start and after each one exits. Logging is set up in the master too, so
gunicorn's own messages are JSON like the app's.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

from service.config import ConfigError, env_value
from service.observability import logs, multiproc


def _count(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {value}")
    return value


bind = env_value("API_BIND") or "0.0.0.0:8000"
# gthread: a request waiting for its evaluation (up to SYNC_TIMEOUT) holds a thread, not a process
worker_class = "gthread"
workers = _count("WEB_CONCURRENCY", env_value("WEB_CONCURRENCY"), 2)
threads = _count("API_THREADS", env_value("API_THREADS"), 8)
timeout = 60  # longer than SYNC_TIMEOUT's default of 10 s: a waiting request is not a hung worker
graceful_timeout = 30
accesslog = None  # the app logs one access line per request, carrying its request id
# gunicornc's socket would sit in $HOME, which the image's user cannot write and which two
# servers on one host would share; orchestrators signal the master instead.
control_socket_disable = True
logconfig_dict = logs.dict_config("json")

# Without a shared directory every gunicorn worker would count alone and a scrape would see one
# of them. A private one at least sums the API's processes; the workers' counts (evaluations,
# task durations) need PROMETHEUS_MULTIPROC_DIR shared with them, which on_starting says.
_private_metrics_dir: str | None = None
if env_value("PROMETHEUS_MULTIPROC_DIR") is None:
    _private_metrics_dir = tempfile.mkdtemp(prefix="policy-eval-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _private_metrics_dir


def on_starting(server: Any) -> None:
    if _private_metrics_dir is not None:
        logging.getLogger("gunicorn.error").warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics sums this API's processes only "
            "(in %s); share one directory with the workers for their evaluation counts",
            _private_metrics_dir)
    multiproc.compact()


def child_exit(server: Any, worker: Any) -> None:
    multiproc.process_exited(worker.pid)
    multiproc.compact()


def on_exit(server: Any) -> None:
    if _private_metrics_dir is not None:
        shutil.rmtree(_private_metrics_dir, ignore_errors=True)
