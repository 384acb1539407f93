"""Settings read once from environment variables (twelve-factor), shared by the API and workers.

The API and the workers must agree on the broker, the ruleset and the engine mode, so both build
their configuration from the same ``Settings.from_env()``; a bad value fails at start-up with the
variable's name rather than as a confusing error on the first request.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

EngineMode = Literal["durable", "native"]
ENGINE_MODES: tuple[EngineMode, ...] = ("durable", "native")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Resolved against the project, not the working directory, so `policy-eval serve` works from
# anywhere in a source checkout.
DEFAULT_RULESET = PROJECT_ROOT / "rules" / "japan-fy2026.yaml"

T = TypeVar("T")


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a developer wants on a fresh checkout.

    ``redis_url`` of ``None`` selects embedded mode: an in-process worker on Celery's in-memory
    transport, so ``policy-eval serve`` needs nothing installed.
    """

    redis_url: str | None = None
    ruleset: Path = field(default=DEFAULT_RULESET)
    engine: EngineMode = "durable"
    sync_timeout: float = 10.0  # seconds a POST waits for the worker before answering 202
    result_ttl: int = 86_400  # seconds results (and the record of a submission) are kept
    task_time_limit: float = 30.0  # hard limit; the soft limit is a little earlier
    max_content_length: int = 1_048_576  # bytes; a proposal is a few kilobytes
    worker_max_memory_mb: int = 512  # a pool process is recycled past this (after its task)

    def __post_init__(self) -> None:
        if self.engine not in ENGINE_MODES:
            raise ConfigError(f"POLICY_ENGINE must be one of {', '.join(ENGINE_MODES)}, "
                              f"not {self.engine!r}")
        for name, value in (("SYNC_TIMEOUT", self.sync_timeout),
                            ("RESULT_TTL", self.result_ttl),
                            ("TASK_TIME_LIMIT", self.task_time_limit),
                            ("MAX_CONTENT_LENGTH", self.max_content_length),
                            ("WORKER_MAX_MEMORY_MB", self.worker_max_memory_mb)):
            if not math.isfinite(value) or value < 0 or (name != "SYNC_TIMEOUT" and value == 0):
                raise ConfigError(f"{name} must be positive, not {value!r}")

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def soft_time_limit(self) -> float:
        """Raised inside the task first, so a runaway evaluation fails cleanly (and is stored)
        before the hard limit kills the process."""
        return max(self.task_time_limit * 0.9, self.task_time_limit - 5.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            redis_url=(env.get("REDIS_URL") or "").strip() or None,
            ruleset=Path(env["POLICY_RULESET"]) if env.get("POLICY_RULESET") else DEFAULT_RULESET,
            engine=cast(EngineMode, env.get("POLICY_ENGINE", defaults.engine).strip().lower()),
            sync_timeout=_number(env, "SYNC_TIMEOUT", float, defaults.sync_timeout),
            result_ttl=_number(env, "RESULT_TTL", int, defaults.result_ttl),
            task_time_limit=_number(env, "TASK_TIME_LIMIT", float, defaults.task_time_limit),
            max_content_length=_number(env, "MAX_CONTENT_LENGTH", int,
                                       defaults.max_content_length),
            worker_max_memory_mb=_number(env, "WORKER_MAX_MEMORY_MB", int,
                                         defaults.worker_max_memory_mb),
        )


def _number(env: Mapping[str, str], name: str, kind: Callable[[str], T], default: T) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number ({kind.__name__}), not {raw!r}") from None
