"""``policy-eval``: one command line over the same engine and the same API."""

import sys

from service.cli.main import main


def run() -> None:
    """Console-script entry point: the exit status is main's return value."""
    sys.exit(main())


__all__ = ["main", "run"]
