"""What every command shares: the exit codes, stopping with a message, reading a JSON file,
and the few HTTP calls the command line makes to a running service (stdlib only: the CLI must
not need more than the engine does)."""

from __future__ import annotations

import json
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


def refuse(message: str) -> NoReturn:
    """Stop with exit status 1: the input was read and judged bad."""
    print(f"policy-eval: {message}", file=sys.stderr)
    raise SystemExit(BAD_INPUT)


class ServiceError(Exception):
    """The service answered with a problem (RFC 9457); ``problem`` is its body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(problem.get("detail") or problem.get("title") or f"HTTP {status}")


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
        raise ServiceError(error.code, problem_of(error.read())) from None
    except urllib.error.URLError as error:
        fail(f"cannot reach {url}: {error.reason}")


def problem_of(raw: bytes) -> dict[str, Any]:
    """An error answer's problem document; a body that is none (a proxy's page) as its detail."""
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        found = None
    if isinstance(found, dict):
        return found
    return {"detail": raw.decode(errors="replace")[:300]}


def read_json(path: Path) -> Any:
    """The JSON in ``path``: a missing file stops with status 2, a file that is not JSON with 1
    (it was read, and judged bad)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
        fail(f"cannot read {path}: {error.strerror}")
    except UnicodeDecodeError as error:
        refuse(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})")
    except json.JSONDecodeError as error:
        refuse(f"{path} is not JSON: {error}")
