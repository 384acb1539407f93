"""A closed-loop HTTP load generator: N clients, each sending its next request as soon as the
last one is answered, over one kept-alive connection each.

Threads and ``http.client``, not requests: a benchmark client should cost the two cores it
shares with the server as little as possible, and it costs the same for the service and for
the baseline it is compared with.
"""

from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def _client(url: str, bodies: list[bytes], headers: dict[str, str], until: float,
            start_at: float, found: list[float], errors: list[int]) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    for body in itertools.cycle(bodies):
        now = time.perf_counter()
        if now >= until:
            break
        try:
            connection.request("POST", parts.path, body, headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        finished = time.perf_counter()
        if now >= start_at and finished <= until:  # only requests wholly inside the window
            if ok:
                found.append((finished - now) * 1000)
            else:
                errors.append(1)
    connection.close()


def closed_loop(url: str, bodies: list[bytes], headers: dict[str, str], clients: int,
                seconds: float, warmup: float = 2.0) -> Load:
    """POST ``bodies`` in turn to ``url`` from ``clients`` threads for ``seconds`` after
    ``warmup`` seconds; anything but a 200 counts as an error."""
    found: list[float] = []
    errors: list[int] = []
    start_at = time.perf_counter() + warmup
    until = start_at + seconds
    threads = [threading.Thread(target=_client, args=(
        url, bodies[i:] + bodies[:i], {"Content-Type": "application/json", **headers}, until,
        start_at, found, errors)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(len(found), len(errors), seconds, tuple(found))
