"""``policy-eval decisions export``: the decision log as JSON Lines, read page by page."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from rich.console import Console

from service.cli import output
from service.cli.client import OK, call

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
    output.console(stderr=True).print(f"{output.plural(count, 'decision')} exported")
    return OK
