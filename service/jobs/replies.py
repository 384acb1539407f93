"""Waking a request that waits for its evaluation the moment a worker finishes it.

A synchronous ``POST /v1/evaluations`` used to poll the stored result, backing off from 2 ms to
50 ms: a result ready after 6 ms was seen after ~10, and every poll was a Redis round trip.
Instead the worker, once the result is stored, pushes a token onto a list named after the task
(Redis) or sets an event (embedded mode), and the request blocks on it (``BLPOP``) until then or
its deadline. The list outlives a late waiter for ``REPLY_TTL`` seconds, so a task that finishes
before its request starts waiting still wakes it at once.

A reply is only a wake-up call: the request then reads the stored result, so a lost reply costs
the wait, never the answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

import redis

REPLY_PREFIX = "policy-eval:reply:"
REPLY_TTL = 60
WAIT_SLICE = 2.0  # seconds of one BLPOP; a longer wait takes several
LOCAL_REPLIES_KEPT = 10_000  # events for tasks nobody waits for (respond-async) are dropped


class Replies(Protocol):
    def notify(self, task_id: str) -> None: ...

    def wait(self, task_id: str, timeout: float) -> bool:
        """True once ``task_id`` has finished, False if ``timeout`` seconds pass first."""
        ...


class RedisReplies:
    def __init__(self, url: str) -> None:
        # The socket timeout must outlast one BLPOP (redis-py's default, 5 s, would turn a
        # wait that ends without a reply into a TimeoutError, a 503). Waiting in slices keeps
        # it short: a Redis that vanishes without closing the socket is noticed in seconds.
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2,
                                            socket_timeout=WAIT_SLICE + 3,
                                            socket_keepalive=True)

    def notify(self, task_id: str) -> None:
        key = REPLY_PREFIX + task_id
        with self._client.pipeline(transaction=False) as pipe:
            pipe.rpush(key, 1)
            pipe.expire(key, REPLY_TTL)
            pipe.execute()

    def wait(self, task_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        # never a BLPOP timeout of 0, which would block forever
        while (remaining := deadline - time.monotonic()) > 0.001:
            if self._client.blpop([REPLY_PREFIX + task_id],
                                  timeout=min(remaining, WAIT_SLICE)) is not None:
                return True
        return False


class LocalReplies:
    """Embedded mode: the worker is a thread of this process."""

    def __init__(self) -> None:
        self._events: OrderedDict[str, threading.Event] = OrderedDict()
        self._lock = threading.Lock()

    def _event(self, task_id: str) -> threading.Event:
        with self._lock:
            event = self._events.get(task_id)
            if event is None:
                event = self._events[task_id] = threading.Event()
                if len(self._events) > LOCAL_REPLIES_KEPT:
                    self._events.popitem(last=False)
            return event

    def notify(self, task_id: str) -> None:
        self._event(task_id).set()

    def wait(self, task_id: str, timeout: float) -> bool:
        done = self._event(task_id).wait(max(timeout, 0))
        if done:
            with self._lock:
                self._events.pop(task_id, None)
        return done
