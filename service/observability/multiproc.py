"""The files prometheus-client's multiprocess mode shares between processes: how they are named,
and how the files of stopped processes are folded away without losing a count.

In multiprocess mode every process counts in memory-mapped files of its own in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums them all. prometheus-client names the files after
the pid alone, which breaks as soon as two containers share the directory (the compose file's
shared volume): each container has its own pid namespace, so the API's pid 7 and a worker's pid 7
would write one file and corrupt it. Here a process is identified by host name *and* pid, which
is unique across containers (each has its own host name) and on a single host alike.

Files of stopped processes: prometheus-client's advice is to wipe the directory between runs,
which fits one gunicorn alone. With API and workers sharing the directory, and restarting apart,
wiping (or deleting a stopped process's files) would drop part of a counter's total while other
processes keep counting. Prometheus reads that as a counter reset, and ``rate()`` would then
report the whole remaining total as a burst of new events. So instead ``compact`` folds the
counts of this host's stopped processes into one archive file per metric type
(``counter_<host>-archive.db``) and removes their files: totals never go down, and the directory
holds the live processes' files plus one archive per host, however often processes are
replaced. Group leaders run it when they start (the gunicorn master, a Celery worker's main
process) and the gunicorn master after each worker exits. Compaction and scrapes take a lock
file in the directory (exclusive and shared), so a scrape never sees a file twice or misses one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from service.observability.settings import metrics_directory

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
# "<type>[_<gauge mode>]_<host>-<pid>.db"; the identity holds no "_", which separates the rest
_FILE = re.compile(r"^(?P<kind>[a-z]+)(?:_(?P<mode>[a-z]+))?_(?P<host>.+)-(?P<pid>\d+)\.db$")
# types whose counts add up across processes, and so fold into an archive
FOLDED = ("counter", "histogram", "summary")
LOCK_FILE = ".lock"  # not *.db: prometheus-client reads every *.db file as metrics
_host: str | None = None


def host() -> str:
    """This host's name, made safe for a file name (no ``_``: prometheus-client splits on it)."""
    global _host
    if _host is None:
        _host = _UNSAFE.sub("-", socket.gethostname()).strip("-") or "localhost"
    return _host


def identity(pid: int | None = None) -> str:
    """What names this process's metric files: ``<host>-<pid>``."""
    return f"{host()}-{os.getpid() if pid is None else pid}"


def directory() -> Path | None:
    """The shared directory, created if missing; ``None`` when metrics stay in-process."""
    found = metrics_directory()
    if found is None:
        return None
    path = Path(found)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def locked(path: Path, exclusive: bool) -> Iterator[None]:
    """The directory's lock: exclusive to compact, shared to read (a scrape)."""
    with (path / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def stopped_files(path: Path) -> list[Path]:
    """This host's metric files whose process is no longer running."""
    found = []
    for file in sorted(path.glob("*.db")):
        match = _FILE.match(file.name)
        if match and match["host"] == host() and not _running(int(match["pid"])):
            found.append(file)
    return found


def compact(path: Path | None = None) -> list[Path]:
    """Fold this host's stopped processes' counts into its archive files and remove their
    files (live gauges of stopped processes are just removed); returns the files removed."""
    path = path or directory()
    if path is None:
        return []
    removed: list[Path] = []
    with locked(path, exclusive=True):
        stopped = stopped_files(path)
        for kind in FOLDED:
            files = [f for f in stopped if f.name.startswith(f"{kind}_")]
            if files:
                _fold(path / f"{kind}_{host()}-archive.db", files)
                removed += files
        for file in stopped:
            if file.name.startswith("gauge_live"):
                removed.append(file)
        for file in removed:
            file.unlink(missing_ok=True)
    if removed:
        log.info("folded %d metric files of stopped processes into the archive of host %s",
                 len(removed), host())
    return removed


def _fold(archive: Path, files: list[Path]) -> None:
    sources = [*files, archive] if archive.exists() else files
    # accumulate=False keeps histogram buckets as stored (per bucket), ready to write back
    merged = MultiProcessCollector.merge([str(f) for f in sources], accumulate=False)
    staging = archive.with_suffix(".staging")  # not *.db until complete
    staging.unlink(missing_ok=True)
    out = MmapedDict(str(staging))
    try:
        for metric in merged:
            for sample in metric.samples:
                key = mmap_key(metric.name, sample.name, list(sample.labels),
                               list(sample.labels.values()), metric.documentation)
                out.write_value(key, sample.value, 0.0)
    finally:
        out.close()
    os.replace(staging, archive)


def process_exited(pid: int, path: Path | None = None) -> None:
    """Forget the live gauges of process ``pid`` (prometheus-client's ``mark_process_dead``,
    for our file names). Its counters and histograms stay until ``compact`` folds them."""
    path = path or directory()
    if path is None:
        return
    for file in path.glob(f"gauge_live*_{identity(pid)}.db"):
        file.unlink(missing_ok=True)
