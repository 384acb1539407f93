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
DEFAULT_RULESET = PROJECT_ROOT / "rules" / "japan-fy2026-2.yaml"

T = TypeVar("T")
MIN_KEY_LENGTH = 32  # characters of DECISION_LOG_KEY: 128 bits as hex, more as anything else

# Every environment variable the service reads, and what reads it. It is the one list to look
# in: tests/unit/test_deployment.py holds the README's settings table, docker-compose.yml, the
# Dockerfile and the code's own reads to it, so a module that reads a new variable adds it here
# and to the README table, or that test names the variable.
ENVIRONMENT: dict[str, str] = {
    "REDIS_URL": "Settings",
    "POLICY_RULESET": "Settings",
    "POLICY_ENGINE": "Settings",
    "SYNC_TIMEOUT": "Settings",
    "RESULT_TTL": "Settings",
    "TASK_TIME_LIMIT": "Settings",
    "BROKER_VISIBILITY_TIMEOUT": "Settings",
    "MAX_CONTENT_LENGTH": "Settings",
    "WORKER_MAX_MEMORY_MB": "Settings",
    "WORKER_CONCURRENCY": "Settings (the workers' Celery configuration)",
    "DECISION_LOG_MASK": "Settings",
    "DECISION_LOG_KEY": "Settings",
    "API_KEYS": "Settings",
    "API_KEYS_FILE": "Settings",
    "RATE_LIMIT": "Settings",
    "CORS_ORIGINS": "Settings",
    "BATCH_MAX_ITEMS": "service.batch.settings",
    "BATCH_MAX_BYTES": "service.batch.settings",
    "BATCH_CHUNK_SIZE": "service.batch.settings",
    "BATCH_RESULT_TTL": "service.batch.settings",
    "LOG_FORMAT": "service.observability.settings",
    "LOG_LEVEL": "service.observability.settings",
    "PROMETHEUS_MULTIPROC_DIR": "service.observability.multiproc and prometheus-client",
    "API_BIND": "service.api.gunicorn_conf",
    "WEB_CONCURRENCY": "service.api.gunicorn_conf",
    "API_THREADS": "service.api.gunicorn_conf and service.api.server",
}


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the registered variable ``name``, stripped; ``None`` when unset or blank.

    Refuses a name missing from ``ENVIRONMENT``, so a new setting cannot be read without being
    listed (and so documented and checked against the deployment files).
    """
    if name not in ENVIRONMENT:
        raise KeyError(f"{name} is not in service.config.ENVIRONMENT; register it there")
    env = os.environ if environ is None else environ
    return (env.get(name) or "").strip() or None


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
    # seconds before Redis gives a message taken by a vanished worker to another; 0: the
    # default, max(300, 4 × task_time_limit)
    broker_visibility_timeout: float = 0.0
    max_content_length: int = 1_048_576  # bytes; a proposal is a few kilobytes
    worker_max_memory_mb: int = 512  # a pool process is recycled past this (after its task)
    worker_concurrency: int = 0  # pool processes per worker; 0: Celery's default (one per CPU)
    decision_log_mask: tuple[str, ...] = ()  # proposal fields the decision log keeps as "***"
    # the secret the decision log keys its hashes with when it masks (service.decisions.entry)
    decision_log_key: str = field(default="", repr=False)
    api_keys: str = ""  # "name:role:sha256hex, ..." (see service.api.auth)
    api_keys_file: Path | None = None  # the same as a YAML list of {name, role, sha256}
    rate_limit: str = "1200/minute"  # per API key (per address when auth is off)
    cors_origins: tuple[str, ...] = ()  # origins allowed to call /v1 from a browser

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
        timeout = self.broker_visibility_timeout
        if timeout and not (math.isfinite(timeout) and timeout >= 2 * self.task_time_limit):
            # A message is taken back from a worker that still runs it past this: the task
            # would run twice at once, and a batch chunk would blame an item for a crash.
            raise ConfigError(f"BROKER_VISIBILITY_TIMEOUT must be at least twice "
                              f"TASK_TIME_LIMIT ({self.task_time_limit:g}), "
                              f"not {self.broker_visibility_timeout!r}")
        if self.decision_log_mask and len(self.decision_log_key) < MIN_KEY_LENGTH:
            # an unkeyed hash of the input would confirm a guess of what the mask hides
            raise ConfigError(f"DECISION_LOG_MASK needs DECISION_LOG_KEY, a secret of at least "
                              f"{MIN_KEY_LENGTH} characters (`python -c 'import secrets; "
                              "print(secrets.token_hex(32))'`), to key the log's input hashes")
        if self.worker_concurrency < 0:
            raise ConfigError("WORKER_CONCURRENCY must be 0 or more, "
                              f"not {self.worker_concurrency!r}")

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def soft_time_limit(self) -> float:
        """Raised inside the task first, so a runaway evaluation fails cleanly (and is stored)
        before the hard limit kills the process."""
        return soft_limit(self.task_time_limit)

    @property
    def analysis_time_limit(self) -> float:
        """How long an analysis job (the impact of a version on a stored batch) may run: half
        the visibility timeout, since past that Redis would hand its message to a second
        worker while the first still runs it. 150 s by default: an impact evaluates each
        proposal twice, at 1,460 (durable) to 2,200 (native) evaluations a CPU-second measured
        on the shared CI machine under load (2,600 durable when quiet), so ~50,000 to 110,000
        proposals; raise BROKER_VISIBILITY_TIMEOUT for more."""
        return self.visibility_timeout / 2

    @property
    def visibility_timeout(self) -> float:
        """How long an unacknowledged message stays with the worker that took it: long enough
        for any task to end (its hard time limit) while another waits for a pool process."""
        return self.broker_visibility_timeout or max(300.0, 4 * self.task_time_limit)

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
            broker_visibility_timeout=_number(env, "BROKER_VISIBILITY_TIMEOUT", float,
                                              defaults.broker_visibility_timeout),
            max_content_length=_number(env, "MAX_CONTENT_LENGTH", int,
                                       defaults.max_content_length),
            worker_max_memory_mb=_number(env, "WORKER_MAX_MEMORY_MB", int,
                                         defaults.worker_max_memory_mb),
            worker_concurrency=_number(env, "WORKER_CONCURRENCY", int,
                                       defaults.worker_concurrency),
            decision_log_mask=_names(env, "DECISION_LOG_MASK"),
            decision_log_key=env.get("DECISION_LOG_KEY", "").strip(),
            api_keys=env.get("API_KEYS", ""),
            api_keys_file=Path(env["API_KEYS_FILE"]) if env.get("API_KEYS_FILE") else None,
            rate_limit=env.get("RATE_LIMIT", "").strip() or defaults.rate_limit,
            cors_origins=_names(env, "CORS_ORIGINS"),
        )


def soft_limit(hard: float) -> float:
    """The soft time limit of a task whose hard limit is ``hard`` seconds."""
    return max(hard * 0.9, hard - 5.0)


def _number(env: Mapping[str, str], name: str, kind: Callable[[str], T], default: T) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number ({kind.__name__}), not {raw!r}") from None


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of names, blanks dropped."""
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())

