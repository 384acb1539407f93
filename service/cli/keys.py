"""``policy-eval keys new``: make an API key and the line that configures it.

The key is printed once; the service is given only its SHA-256, so a leaked configuration
leaks no key.
"""

from __future__ import annotations

import argparse
import secrets

from rich.console import Console

from service.api.auth import digest
from service.cli.client import OK


def cmd_new(args: argparse.Namespace, console: Console) -> int:
    key = secrets.token_urlsafe(32)
    console.print(f"key (give it to the caller; it is not stored): {key}", highlight=False,
                  soft_wrap=True)
    console.print(f"API_KEYS entry: {args.name}:{args.role}:{digest(key)}", highlight=False,
                  soft_wrap=True)
    console.print(f"API_KEYS_FILE entry: {{name: {args.name}, role: {args.role}, "
                  f"sha256: {digest(key)}}}", highlight=False, soft_wrap=True)
    return OK
