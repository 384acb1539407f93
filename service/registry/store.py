"""Where versions live: Redis in production, this process's memory in embedded mode.

Versions are immutable: publishing a version again with the same content is a no-op, with
other content a conflict. Only the pointer to the active version moves, and each move is logged.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

import redis

from service.clock import utc_now
from service.engine import Ruleset, document_json


class VersionConflict(Exception):
    """The version exists with other content: versions are immutable, bump the version."""

    def __init__(self, version: str, stored_hash: str, new_hash: str) -> None:
        self.version, self.stored_hash, self.new_hash = version, stored_hash, new_hash
        super().__init__(f"version {version} is already published with other content "
                         f"({stored_hash}, not {new_hash}); publish it under a new version")


class UnknownVersion(LookupError):
    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__(f"no ruleset version {version!r} is published")


@dataclass(frozen=True)
class RulesetRecord:
    version: str
    name: str
    hash: str
    document: str  # canonical JSON of the ruleset, context inline
    note: str
    author: str
    created_at: str

    @classmethod
    def of(cls, ruleset: Ruleset, note: str, author: str) -> RulesetRecord:
        return cls(ruleset.version, ruleset.name, ruleset.content_hash,
                   document_json(ruleset.document), note, author, utc_now())

    def summary(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k != "document"}


class RulesetStore(Protocol):
    def add(self, record: RulesetRecord) -> bool:
        """Store a new version; False when it already exists with the same content."""

    def get(self, version: str) -> RulesetRecord | None: ...

    def records(self) -> list[RulesetRecord]:
        """Every version, oldest first."""

    def active_version(self) -> str | None: ...

    def activate(self, version: str, by: str) -> None:
        """Make ``version`` the active one; raises ``UnknownVersion``."""

    def activate_if_none(self, version: str, by: str) -> None: ...

    def activations(self) -> list[dict[str, str]]:
        """Every change of the active version, oldest first."""


class RedisStore:
    """Keys under ``policy-eval:rulesets:``; a version is a hash, the index a sorted set."""

    PREFIX = "policy-eval:rulesets:"

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5,
                                            decode_responses=True)

    def _key(self, version: str) -> str:
        return f"{self.PREFIX}version:{version}"

    def add(self, record: RulesetRecord) -> bool:
        fields: dict[Any, Any] = asdict(record)  # redis-py types keys as bytes | str | ...
        # HSETNX on the hash field decides the race between two publishers of one version
        if not self._client.hsetnx(self._key(record.version), "hash", record.hash):
            stored = str(self._client.hget(self._key(record.version), "hash"))
            if stored != record.hash:
                raise VersionConflict(record.version, stored, record.hash)
            return False
        pipe = self._client.pipeline()
        pipe.hset(self._key(record.version), mapping=fields)
        pipe.zadd(self.PREFIX + "index", {record.version: datetime.now().timestamp()})
        pipe.execute()
        return True

    def get(self, version: str) -> RulesetRecord | None:
        fields = self._client.hgetall(self._key(version))
        return RulesetRecord(**fields) if fields.get("document") else None  # type: ignore[arg-type]

    def records(self) -> list[RulesetRecord]:
        versions = self._client.zrange(self.PREFIX + "index", 0, -1)
        found = (self.get(str(v)) for v in versions)
        return [r for r in found if r is not None]

    def active_version(self) -> str | None:
        value = self._client.get(self.PREFIX + "active")
        return str(value) if value is not None else None

    def _log(self, version: str, by: str) -> None:
        entry = json.dumps({"version": version, "by": by, "at": utc_now()})
        self._client.rpush(self.PREFIX + "activations", entry)

    def activate(self, version: str, by: str) -> None:
        if not self._client.exists(self._key(version)):
            raise UnknownVersion(version)
        self._client.set(self.PREFIX + "active", version)
        self._log(version, by)

    def activate_if_none(self, version: str, by: str) -> None:
        if self._client.set(self.PREFIX + "active", version, nx=True):
            self._log(version, by)

    def activations(self) -> list[dict[str, str]]:
        entries = self._client.lrange(self.PREFIX + "activations", 0, -1)
        return [json.loads(str(e)) for e in entries]


class MemoryStore:
    """Embedded mode: one store per process, shared by the API and the in-process worker."""

    def __init__(self) -> None:
        self._records: dict[str, RulesetRecord] = {}
        self._active: str | None = None
        self._activations: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def add(self, record: RulesetRecord) -> bool:
        with self._lock:
            stored = self._records.get(record.version)
            if stored is not None:
                if stored.hash != record.hash:
                    raise VersionConflict(record.version, stored.hash, record.hash)
                return False
            self._records[record.version] = record
            return True

    def get(self, version: str) -> RulesetRecord | None:
        return self._records.get(version)

    def records(self) -> list[RulesetRecord]:
        return list(self._records.values())

    def active_version(self) -> str | None:
        return self._active

    def activate(self, version: str, by: str) -> None:
        with self._lock:
            if version not in self._records:
                raise UnknownVersion(version)
            self._active = version
            self._activations.append({"version": version, "by": by, "at": utc_now()})

    def activate_if_none(self, version: str, by: str) -> None:
        with self._lock:
            if self._active is None:
                self._active = version
                self._activations.append({"version": version, "by": by, "at": utc_now()})

    def activations(self) -> list[dict[str, str]]:
        return list(self._activations)
