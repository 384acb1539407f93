"""Celery's Redis result backend, minus one behaviour that does not fit a web API.

On every send, Celery's Redis backend subscribes the sending process to the task's result
channel (Redis pub/sub), in case the caller will block on ``AsyncResult.get()``. The API never
does: it waits for the worker's wake-up (``service.worker.replies``) and then reads the stored
result, because ``get()`` on this backend only times out in whole seconds (a 0.2 s
``Prefer: wait`` would take 1 s). Left subscribed,
every finished evaluation would be pushed to a socket nobody reads until Redis drops it.
``get()`` still works: it subscribes when it is called.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend


class PollingRedisBackend(RedisBackend):
    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None
