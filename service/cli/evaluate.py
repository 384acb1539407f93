"""``policy-eval evaluate FILE``: one proposal, locally or on a running service, as a readable
report or as the API's JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from service.cli import output
from service.cli.client import OK, ServiceError, call, fail, read_json
from service.cli.problems import invalid_proposal, load_engine, print_invalid, ruleset_path
from service.cli.render import print_evaluation
from service.cli.whatif import what_if
from service.engine import ProposalInvalid, counterfactuals


def _remotely(args: argparse.Namespace, proposal: Any, errors: Console) -> dict[str, Any] | int:
    """The service's evaluation, or the exit status of its refusal."""
    try:
        answer = call(args.url, "POST", "/v1/evaluations", proposal, {"explain": args.explain},
                      args.key)
    except ServiceError as error:
        if error.status == 422 and isinstance(error.problem.get("errors"), list):
            return print_invalid(error.problem["errors"], str(args.file), errors)
        fail(f"{args.url} answered {error.status}: {error}")
    if answer.get("status") != "done":  # a 202: still running after SYNC_TIMEOUT
        fail(f"{args.url} has not finished the evaluation yet; read it later at "
             f"{args.url.rstrip('/')}/v1/evaluations/{answer.get('id')}")
    evaluation: dict[str, Any] = answer["evaluation"]
    return evaluation


def cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    errors = output.console(stderr=True)
    proposal = read_json(args.file)
    if args.set or args.unset:
        return what_if(args, proposal, console)
    if args.url:
        result = _remotely(args, proposal, errors)
        if isinstance(result, int):
            return result
    else:
        engine = load_engine(ruleset_path(args.ruleset), args.engine, errors)
        try:
            result = engine.evaluate(proposal, args.explain)
        except ProposalInvalid as error:
            return invalid_proposal(error, str(args.file), errors)
        if args.explain == "full":  # as the service's workers add them
            result["counterfactuals"] = counterfactuals(engine, proposal)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_evaluation(result, console)
    return OK
