"""This process's rulesets and engines by version, built on first use.

An LRU keeps the few versions in use compiled. durable-rules cannot free a registered ruleset
(~250 KB per version stays in the C engine), so what an old version leaves behind is bounded by
recycling worker processes (Celery's ``worker_max_memory_per_child``), not here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from service.engine import Engine, Mode, Ruleset, load_ruleset, parse_ruleset
from service.registry.store import MemoryStore, RulesetRecord, RulesetStore, UnknownVersion

CAPACITY = 4
SEED_AUTHOR = "service"
log = logging.getLogger(__name__)


def seed(store: RulesetStore, path: Path) -> str:
    """Publish the ruleset file if its version is not published yet, and activate it if no
    version is active. Raises ``VersionConflict`` when the file's version is published with
    other content: the file was edited without a new version, and guessing which to trust
    would serve rules nobody chose."""
    ruleset = load_ruleset(path)
    store.add(RulesetRecord.of(ruleset, f"seeded from {Path(path).name}", SEED_AUTHOR))
    store.activate_if_none(ruleset.version, SEED_AUTHOR)
    return ruleset.version


class EngineCache:
    def __init__(self, store: RulesetStore, mode: Mode, seed_path: Path | None = None,
                 capacity: int = CAPACITY) -> None:
        self.store = store
        self.mode = mode
        self.seed_path = seed_path
        self.capacity = capacity
        self._rulesets: OrderedDict[str, Ruleset] = OrderedDict()
        self._engines: OrderedDict[tuple[int, str], Engine] = OrderedDict()
        self._lock = threading.Lock()

    def active_version(self) -> str:
        """The active version; with none yet (a new store), the ruleset file is seeded first."""
        version = self.store.active_version()
        if version is None and self.seed_path is not None:
            seed(self.store, self.seed_path)
            version = self.store.active_version()
        if version is None:
            raise UnknownVersion("(active)")
        return version

    def ruleset(self, version: str | None = None) -> Ruleset:
        version = version or self.active_version()
        with self._lock:
            found = self._rulesets.get(version)
            if found is not None:
                self._rulesets.move_to_end(version)
                return found
        ruleset = self._parse(version)
        with self._lock:
            self._rulesets[version] = ruleset
            while len(self._rulesets) > self.capacity:
                self._rulesets.popitem(last=False)
        return ruleset

    def _parse(self, version: str) -> Ruleset:
        record = self.store.get(version)
        if record is None:
            raise UnknownVersion(version)
        ruleset = parse_ruleset(record.document, f"store:{version}")
        if ruleset.content_hash != record.hash:  # the stored text was altered behind our back
            raise RuntimeError(f"version {version}: stored hash {record.hash} does not match "
                               f"its content {ruleset.content_hash}")
        return ruleset

    def engine(self, version: str | None = None) -> Engine:
        """The engine of ``version`` (default: the active one), built once per process.

        Keyed by pid too: a forked child must build its own, never use durable-rules state
        inherited from its parent.
        """
        key = (os.getpid(), version or self.active_version())
        with self._lock:
            found = self._engines.get(key)
            if found is not None:
                self._engines.move_to_end(key)
                return found
        engine = Engine(self.ruleset(key[1]), self.mode)
        with self._lock:
            self._engines[key] = engine
            while len(self._engines) > self.capacity:
                self._engines.popitem(last=False)
        return engine


def file_engines(path: Path, mode: Mode) -> EngineCache:
    """Engines for one ruleset file and no service (``policy-eval score`` run locally): the file
    published in a store of this process's memory, and active."""
    store = MemoryStore()
    seed(store, path)
    return EngineCache(store, mode, path)
