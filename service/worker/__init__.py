"""The Celery worker: a thin shell that deserializes a proposal, calls the engine and stores the
result. ``run_worker`` is what ``policy-eval worker`` runs."""

from __future__ import annotations

from dataclasses import replace

from service.config import Settings

__all__ = ["run_worker"]


def run_worker(redis_url: str, concurrency: int, loglevel: str) -> None:
    """Run ``celery worker`` for the evaluation task against ``redis_url``; blocks until stopped.

    Pool processes are forked, and each builds its own engine after the fork (durable-rules
    state must not cross a fork). Other settings (ruleset, engine, time limits) come from the
    environment, as for the API, so both sides agree.
    """
    from service.worker.app import create_celery

    if not redis_url:
        raise ValueError("a worker needs a Redis URL; embedded mode runs its worker in the server")
    settings = replace(Settings.from_env(), redis_url=redis_url)
    celery = create_celery(settings)
    celery.worker_main([
        "worker",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--pool=prefork",
    ])
