"""What the command line prints when its input is judged bad, and the exit status that goes
with it: a ruleset's problems at ``file:line:col`` (as ``rules check`` reports them), a
proposal's field errors as the API lists them. A file that is not there is the environment's
fault (status 2); a file that was read and found wrong is the input's (status 1). Never a
traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from schemas.errors import field_errors
from service.cli.client import BAD_INPUT, fail
from service.cli.output import plural
from service.config import Settings
from service.engine import Engine, Mode, ProposalInvalid, RulesetError


def print_problems(error: RulesetError, path: Path, out: Console) -> None:
    for problem in error.problems:
        out.print(f"[red]{problem}[/]", soft_wrap=True)
    out.print(f"{path}: {plural(len(error.problems), 'error')}", soft_wrap=True)


def print_invalid(errors: list[dict[str, Any]], what: str, out: Console) -> int:
    """``errors`` as ``{field, message}`` (the API's list); returns the exit status."""
    out.print(f"[red]invalid proposal {what}:[/] {plural(len(errors), 'problem')}",
              soft_wrap=True)
    for error in errors:
        out.print(f"  {error['field']}: {error['message']}", soft_wrap=True)
    return BAD_INPUT


def invalid_proposal(error: ProposalInvalid, what: str, out: Console) -> int:
    return print_invalid(field_errors(error.messages), what, out)


def ruleset_path(given: Path | None) -> Path:
    """The ruleset a local command uses: ``--ruleset``, else POLICY_RULESET, else the shipped
    one; stops with status 2 when that file is not there."""
    path = given or Settings.from_env().ruleset
    if not path.is_file():
        fail(f"no ruleset file {path}" + ("" if given else " (POLICY_RULESET)"))
    return path


def load_engine(path: Path, mode: Mode, errors: Console) -> Engine:
    """The engine of the ruleset file ``path``; stops with the ruleset's problems (status 1)
    or, when the file is not there, status 2."""
    if not path.is_file():
        fail(f"no ruleset file {path}")
    try:
        return Engine.from_path(path, mode=mode)
    except RulesetError as error:
        print_problems(error, path, errors)
        raise SystemExit(BAD_INPUT) from None
