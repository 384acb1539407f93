"""Entry point of ``policy-eval``: parse the command line, run the command it names.

Exit codes, for scripts and CI: 0 success, 1 the input was judged bad (invalid proposal, rule
problems, failing rule tests), 2 usage or environment errors (file missing, service
unreachable). The commands themselves are imported only once parsing is done (see
``service.cli.parser``), so completion and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

import argcomplete
from rich.console import Console

from service.cli.client import USAGE, ServiceError
from service.cli.parser import build_parser
from service.config import ConfigError

Command = Callable[[argparse.Namespace, Console], int]
INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def _command(target: str) -> Command:
    module, _, name = target.partition(":")
    found: Command = getattr(importlib.import_module(module), name)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)  # answers and exits only when the shell asks
    args = parser.parse_args(argv)
    run = _command(args.run)
    from service.cli.output import console  # the engine's formatting: only for a command

    try:
        status: int = run(args, console())
    except KeyboardInterrupt:
        print("policy-eval: interrupted", file=sys.stderr)
        return INTERRUPTED
    except ServiceError as error:  # one a command did not expect: a key refused, a 5xx
        print(f"policy-eval: {args.url} answered {error.status}: {error}", file=sys.stderr)
        return USAGE
    except ConfigError as error:
        print(f"policy-eval: {error}", file=sys.stderr)
        return USAGE
    return status


if __name__ == "__main__":
    sys.exit(main())
