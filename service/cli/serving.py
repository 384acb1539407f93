"""``policy-eval serve`` and ``policy-eval worker``: the processes of a running service. Each
imports only its own side: a worker never loads the API, nor the API a Celery worker."""

from __future__ import annotations

import argparse

from rich.console import Console

from service.cli.client import OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from service.api.server import serve

    serve(args.host, args.port, args.redis)
    return OK


def cmd_worker(args: argparse.Namespace, console: Console) -> int:
    from service.worker import run_worker

    run_worker(args.redis, args.concurrency, args.loglevel)
    return OK
