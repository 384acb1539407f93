"""The few HTTP calls the command line makes to a running service (stdlib only: the CLI must
not need more than the engine does)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

OK, BAD_INPUT, USAGE = 0, 1, 2  # exit codes, shared by every command


def fail(message: str) -> NoReturn:
    """Stop with exit status 2: the environment, not the input, is at fault."""
    print(f"policy-eval: {message}", file=sys.stderr)
    raise SystemExit(USAGE)


class ServiceError(Exception):
    """The service answered with a problem (RFC 9457); ``problem`` is its body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(problem.get("detail") or problem.get("title") or f"HTTP {status}")


KEY_ENV = "POLICY_API_KEY"


def add_remote_arguments(parser: Any, required: bool = True) -> None:
    """``--url`` and ``--key`` for the commands that talk to a running service."""
    parser.add_argument("--url", required=required,
                        help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get(KEY_ENV),
                        help=f"its API key (default: ${KEY_ENV}); not needed by an embedded "
                             "server without keys")


def call(url: str, method: str, path: str, body: Any = None,
         query: dict[str, str] | None = None, key: str | None = None) -> dict[str, Any]:
    """JSON in, JSON out; a problem raises ``ServiceError``, no service exits with status 2."""
    target = f"{url.rstrip('/')}{path}"
    if query:
        target += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(target, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raw = error.read()
        raise ServiceError(error.code, json.loads(raw) if raw else {}) from None
    except urllib.error.URLError as error:
        fail(f"cannot reach {url}: {error.reason}")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"no such file: {path}")
    except json.JSONDecodeError as error:
        fail(f"{path} is not JSON: {error}")
