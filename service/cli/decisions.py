"""``policy-eval decisions export``: the decision log as JSON Lines, read page by page."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from rich.console import Console

from service.cli.client import OK, add_remote_arguments, call

PAGE = 1000


def _export(args: argparse.Namespace, out: TextIO) -> int:
    query = {name: value for name, value in (
        ("since", args.since), ("until", args.until), ("ruleset_version", args.ruleset_version),
        ("rating", args.rating), ("caller", args.caller)) if value}
    written, cursor = 0, None
    while True:
        page_query = {**query, "limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
        page = call(args.url, "GET", "/v1/decisions", query=page_query, key=args.key)
        for entry in page["decisions"]:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        written += len(page["decisions"])
        cursor = page["next_cursor"]
        if cursor is None:
            return written


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    if args.output == "-":
        count = _export(args, sys.stdout)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            count = _export(args, out)
    Console(stderr=True).print(f"{count} decisions exported", highlight=False)
    return OK


def add_decisions_commands(commands: Any) -> None:
    decisions = commands.add_parser("decisions", help="read the decision log (admin key)")
    sub = decisions.add_subparsers(dest="decisions_command", required=True)
    export = sub.add_parser("export", help="every decision, as JSON Lines")
    add_remote_arguments(export)
    export.add_argument("-o", "--output", default="-", help="a file (default: stdout)")
    export.add_argument("--since", help="ISO 8601 time with zone")
    export.add_argument("--until", help="ISO 8601 time with zone")
    export.add_argument("--ruleset-version")
    export.add_argument("--rating")
    export.add_argument("--caller")
    export.set_defaults(run=cmd_export)
