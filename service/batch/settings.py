"""Batch settings, read from the environment like ``service.config.Settings``.

Kept apart from ``Settings`` because only the API and the command line read them: a worker
takes a batch's time to live from the batch record, so API and workers cannot disagree on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from service.config import ConfigError

MAX_ITEMS_CEILING = 999_999_999  # item numbers are stored zero-padded to nine digits


@dataclass(frozen=True)
class BatchSettings:
    max_items: int = 100_000  # proposals in one batch; 413 beyond
    max_bytes: int = 256 * 1024 * 1024  # one upload; ~800 bytes a proposal leaves ample room
    chunk_size: int = 250  # proposals per worker task (see README, "Batches")
    result_ttl: int = 86_400  # seconds a batch and its results are kept after it finishes
    max_item_bytes: int = 1_048_576  # one proposal, as for POST /v1/evaluations

    def __post_init__(self) -> None:
        for name, value in (("BATCH_MAX_ITEMS", self.max_items),
                            ("BATCH_MAX_BYTES", self.max_bytes),
                            ("BATCH_CHUNK_SIZE", self.chunk_size),
                            ("BATCH_RESULT_TTL", self.result_ttl)):
            if value <= 0:
                raise ConfigError(f"{name} must be positive, not {value!r}")
        if self.max_items > MAX_ITEMS_CEILING:
            raise ConfigError(f"BATCH_MAX_ITEMS must be at most {MAX_ITEMS_CEILING:,}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BatchSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            max_items=_integer(env, "BATCH_MAX_ITEMS", defaults.max_items),
            max_bytes=_integer(env, "BATCH_MAX_BYTES", defaults.max_bytes),
            chunk_size=_integer(env, "BATCH_CHUNK_SIZE", defaults.chunk_size),
            result_ttl=_integer(env, "BATCH_RESULT_TTL", defaults.result_ttl),
        )


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
