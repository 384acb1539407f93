"""Embedded mode: with no ``REDIS_URL`` the service runs a Celery worker in a thread of its own
process, on Celery's in-memory transport. Nothing to install, and the same task code path as
production: the API still enqueues, the worker still deserializes JSON, calls the engine and
stores the result; only the transport differs.

Modelled on ``celery.contrib.testing.worker.start_worker``, without its test-only parts (the
ping task, logging set-up). One process only: the queue lives in this process's memory, so a
server with several processes must use Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, ClassVar

from celery import Celery
from celery.worker import WorkController
from celery.worker import state as worker_state

log = logging.getLogger(__name__)


class _ThreadWorkController(WorkController):
    """A worker that tells us when its consumer is ready to take tasks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


class EmbeddedWorker:
    """An in-process worker thread for ``celery``; ``start()`` returns once it consumes.

    At most one per process: the in-memory queues and result cache are process-wide, so a
    second worker would take the first one's tasks (and evaluate them with its own ruleset).
    """

    _running: ClassVar[EmbeddedWorker | None] = None
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, celery: Celery, *, loglevel: str = "WARNING") -> None:
        self.celery = celery
        self.loglevel = loglevel
        self._controller: _ThreadWorkController | None = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> EmbeddedWorker:
        with EmbeddedWorker._running_lock:
            if self.alive:
                return self
            running = EmbeddedWorker._running
            if running is not None and running.alive:
                raise RuntimeError("an embedded worker already runs in this process")
            self._start(timeout)
            EmbeddedWorker._running = self
        return self

    def _start(self, timeout: float) -> None:
        self.celery.finalize()
        # The solo pool traces tasks through the process's default app, not the worker's.
        self.celery.set_current()
        self.celery.set_default()
        controller = _ThreadWorkController(
            app=self.celery,
            hostname="embedded@localhost",
            # solo: tasks run in the worker thread itself; the engine serializes evaluations
            # anyway (durable-rules has one host per process).
            pool="solo",
            concurrency=1,
            loglevel=self.loglevel,
            ready_callback=None,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        thread = threading.Thread(target=controller.start, name="policy-eval-worker", daemon=True)
        # Messages left by an earlier embedded runtime of this process have no client waiting
        # and may have been meant for another ruleset.
        self.celery.control.purge()
        thread.start()
        deadline = time.monotonic() + timeout
        while not controller.ready.wait(0.05):
            if not thread.is_alive():
                raise RuntimeError("the embedded worker stopped while starting; see the log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded worker did not start within {timeout:.0f} s")
        self._controller, self._thread = controller, thread
        log.info("embedded worker started")

    def stop(self, timeout: float = 10.0) -> None:
        """Warm shutdown: a task in progress finishes first."""
        if self._thread is None:
            return
        # Celery's worker loop polls this module-level flag; there is one worker per process.
        worker_state.should_stop = 0
        try:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"the embedded worker did not stop within {timeout:.0f} s")
        finally:
            worker_state.should_stop = None
            self._thread = self._controller = None
            with EmbeddedWorker._running_lock:
                if EmbeddedWorker._running is self:
                    EmbeddedWorker._running = None

    def __enter__(self) -> EmbeddedWorker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
