"""The analysts' view of rulesets over HTTP: what ``policy-eval rules check``, ``rules test`` and
a review of a change give on the command line, for a published version (or a draft, for the
check), so the console and any other client can show them.

- ``GET /v1/rulesets/{version}/rules``: the ruleset as a reader reads it, each condition in
  plain words beside its points and sentence template (``active`` names the active version);
- ``POST /v1/rulesets/check``: a draft checked as publishing checks it (422 with every problem
  at its line), and when it loads, what ``rules check`` adds: the lint warnings and the
  defensibility findings (monotonicity, cliffs, overlaps...) at their lines;
- ``POST /v1/rulesets/{version}/check``: the same report for a published version;
- ``POST /v1/rulesets/{version}/tests``: the rule tests beside the service's rules, run
  against that version, with coverage;
- ``POST /v1/rulesets/{version}/diff``: rules added, removed and changed against another
  version (default: the active one); ``…/impact`` says what that does to proposals.

Checks, tests and diffs are for analysts (``POST /v1/rulesets…`` needs that role); reading a
ruleset is for any key. Everything here is the engine's authoring API (``service.engine``);
nothing is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from schemas.authoring import (
    CheckReportSchema,
    DiffRequestSchema,
    DiffSchema,
    ReadableRulesetSchema,
    RuleTestReportSchema,
)
from service.api.problems import Problem
from service.api.rulesets import RULESET_BODY, describe
from service.api.rulesets import _parse_body as parse_ruleset_body
from service.api.runtime import Runtime
from service.engine import (
    CaseResult,
    Engine,
    Finding,
    ItemChange,
    Report,
    Rule,
    RuleProblem,
    Ruleset,
    check_defensible,
    condition_words,
    coverage,
    lint,
    parse_yaml,
    ruleset_changes,
    run_test_file,
    scale_data,
)
from service.registry.store import UnknownVersion

blp = Blueprint("authoring", __name__, url_prefix="/v1/rulesets",
                description="For analysts: a ruleset in plain words, its check report, its rule "
                            "tests with coverage, and what changed between two versions.")

ACTIVE = "active"  # the version name no ruleset may take, standing for the active one
TEST_FILES = "tests/*.test.yaml"  # beside the service's ruleset file, as `rules test` finds them


class CheckQuerySchema(Schema):
    source = fields.String(load_default="ruleset.yaml", validate=validate.Length(max=300),
                           metadata={"description": "The file name problems are reported "
                                                    "against."})


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def _version(version: str) -> tuple[Ruleset, bool]:
    """The ruleset of a published version (``active``: the active one), and whether it is
    active."""
    state = _runtime()
    active = state.active_version()
    name = active if version == ACTIVE else version
    try:
        return state.backends.engines.ruleset(name), name == active
    except UnknownVersion:
        raise Problem(404, f"No ruleset version {version!r} is published.") from None


def readable(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "criterion": rule.criterion, "title": rule.title,
            "description": rule.description, "condition": condition_words(rule.condition),
            "points": rule.points, "scale": scale_data(rule),
            "scope": rule.scope.describe() if rule.scope else None,
            "deficiency": rule.deficiency, "because": rule.because, "otherwise": rule.otherwise}


def _warning(problem: RuleProblem, located: bool) -> dict[str, Any]:
    """A lint finding; a published version is stored as one line of JSON, so its lines would
    all read 1 and are left out."""
    hint = f" (hint: {problem.hint})" if problem.hint else ""
    text = (problem.with_severity("warning") if located
            else f"{problem.rule_id or '-'}: warning: {problem.message}{hint}")
    return {"rule_id": problem.rule_id, "line": problem.line if located else None,
            "message": problem.message, "hint": problem.hint, "text": text}


def _finding(finding: Finding, checked: str | None) -> dict[str, Any]:
    """A defensibility finding as ``rules check`` prints it; its line only where it points
    into the checked YAML (``checked``: its file name; None for a published version)."""
    at_line = finding.file == checked
    severity = "error" if finding.acknowledged is None else "acknowledged"
    problem = finding.problem()
    text = (problem.with_severity(severity) if at_line
            else f"{problem.rule_id or '-'}: {severity}: {problem.message}")
    reason = finding.acknowledged.reason if finding.acknowledged else None
    return {"check": finding.check, "rules": list(finding.rules),
            "systems": list(finding.systems), "line": finding.line if at_line else None,
            "message": finding.message, "details": list(finding.details),
            "acknowledged": finding.acknowledged is not None, "reason": reason, "text": text}


def _defensibility(report: Report, checked: str | None) -> dict[str, Any]:
    """What ``rules check`` proves beyond loading: no improvement punished (monotonicity), no
    cliff, no fact counted twice (overlap), no missing value rewarded, no registry entry that
    matches by substring; each finding acknowledged in the ruleset or failing it."""
    stale = [f"acknowledged {ack.check} of {', '.join(ack.rules or ack.systems)} matches no "
             "finding (hint: remove it)" for ack in report.unused]
    stale += [f"acknowledged {ack.check} names {name!r}, which is nowhere in the ruleset"
              + (f" (hint: did you mean {close!r}?)" if close else "")
              for ack, name, close in report.unknown]
    return {"passed": not report.failing, "failing": len(report.failing),
            "acknowledged": len(report.findings) - len(report.failing),
            "findings": [_finding(f, checked) for f in report.findings],
            "stale_acknowledgments": stale, "proven": report.proven,
            "searched": report.searched, "evaluations": report.evaluations,
            "cut_short": list(report.cut_short)}


@dataclass(frozen=True)
class _Checked:
    """A ruleset known by its content and file name: what its defensibility depends on."""

    key: tuple[str, str]
    ruleset: Ruleset = field(compare=False, hash=False)


@lru_cache(maxsize=16)
def _defensibility_report(checked: _Checked) -> Report:
    """The defensibility search scores thousands of proposals (~1 s for the shipped rules);
    a published version never changes, so checking it again answers from here."""
    return check_defensible(checked.ruleset)


def _check_report(ruleset: Ruleset, located: bool) -> dict[str, Any]:
    report = _defensibility_report(_Checked((ruleset.content_hash, ruleset.source), ruleset))
    return {"ruleset": ruleset.identity, "rules": len(ruleset.rules),
            "warnings": [_warning(p, located) for p in lint(ruleset)],
            "defensibility": _defensibility(report, ruleset.source if located else None)}


@blp.route("/<string:version>/rules")
class ReadableRuleset(MethodView):
    @blp.response(200, ReadableRulesetSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, version: str) -> dict[str, Any]:
        """A ruleset as an analyst reads it: criteria with weights and rationale, rating
        bands, and every rule's condition in plain words with its points and sentence.

        `active` names the active version.
        """
        ruleset, active = _version(version)
        return {**describe(ruleset, _runtime().settings.engine), "active": active,
                "rules": [readable(rule) for rule in ruleset.rules]}


@blp.route("/check")
class DraftCheck(MethodView):
    @blp.arguments(CheckQuerySchema, location="query")
    @blp.response(200, CheckReportSchema, description="It loads; any warnings, at their lines.")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.doc(requestBody=RULESET_BODY)
    def post(self, query: dict[str, Any]) -> dict[str, Any]:
        """Check a draft ruleset without publishing it (`policy-eval rules check`).

        A ruleset that does not load is refused as publishing refuses it: 422 with every
        problem at its file, line and column. One that loads gets its lint warnings and its
        defensibility findings (monotonicity, cliffs, overlaps, missing values, registry) at
        their lines, each acknowledged in the ruleset or failing it (about a second for the
        shipped 63 rules).
        """
        return _check_report(parse_ruleset_body(query["source"]), located=True)


@blp.route("/<string:version>/check")
class VersionCheck(MethodView):
    @blp.response(200, CheckReportSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, version: str) -> dict[str, Any]:
        """The lint warnings of a published version (rules that can never fire, duplicate or
        shadowed conditions, bands no proposal can reach) and its defensibility findings, as
        `policy-eval rules check` reports them."""
        ruleset, _ = _version(version)
        return _check_report(ruleset, located=False)


def _test_files(ruleset: Ruleset) -> list[Path]:
    """The rule test files beside the service's ruleset written for this version (2026.1.0
    and 2026.2.0 each have their own), or, when none names this version, those written for
    any ruleset of this name (a version published without a file of its own answers to the
    tests of its name)."""
    rules = _runtime().settings.ruleset.parent
    named: list[tuple[Path, object]] = []
    for path in sorted(rules.glob(TEST_FILES)):
        try:
            target = path.parent / parse_yaml(path.read_text(encoding="utf-8"))["ruleset"]
            header = parse_yaml(target.read_text(encoding="utf-8"))
            name, version = header.get("name"), header.get("version")
        except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
            named.append((path, None))  # unreadable: run it, so its failure is reported
            continue
        if name == ruleset.name:
            named.append((path, version))
    exact = [path for path, version in named if version in (ruleset.version, None)]
    return exact or [path for path, _ in named]


def _run(path: Path, engine: Engine, rules: Path) -> list[CaseResult]:
    relative = str(path.relative_to(rules))
    try:
        results = run_test_file(path, engine)
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        return [CaseResult("(the test file)", relative, 0, [f"cannot run: {error}"])]
    for case in results:
        case.file = relative  # not the server's own paths
    return results


@blp.route("/<string:version>/tests")
class RuleTests(MethodView):
    @blp.response(200, RuleTestReportSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, version: str) -> dict[str, Any]:
        """Run the rule tests against a version, with coverage (`policy-eval rules test
        --coverage`).

        The tests are those beside the service's rules for a ruleset of this version's name.
        They run here, on the native evaluator: durable-rules keeps one session per process
        and this process serves requests on threads; the workers check on every evaluation
        that the two evaluators agree. The 22 shipped cases take ~16 ms.
        """
        ruleset, _ = _version(version)
        engine = Engine(ruleset, mode="native")
        rules = _runtime().settings.ruleset.parent
        files = _test_files(ruleset)
        results = [case for path in files for case in _run(path, engine, rules)]
        cover = coverage(ruleset, results)
        failed = sum(not case.passed for case in results)
        return {
            "ruleset": ruleset.identity,
            "files": [str(path.relative_to(rules)) for path in files],
            "passed": len(results) - failed, "failed": failed,
            "cases": [{"name": c.name, "file": c.file, "line": c.line, "passed": c.passed,
                       "failures": c.failures, "fired": c.fired} for c in results],
            "coverage": {
                "percent": round(cover.percent, 1),
                "criteria": [{"criterion": name, "covered": covered, "total": total}
                             for name, (covered, total) in cover.by_criterion.items()],
                "uncovered": list(cover.uncovered),
            },
        }


def _item(change: ItemChange) -> dict[str, Any]:
    return {"id": change.id,
            "parts": [{"part": p.part, "old": p.old, "new": p.new} for p in change.parts]}


@blp.route("/<string:version>/diff")
class Diff(MethodView):
    @blp.arguments(DiffRequestSchema)
    @blp.response(200, DiffSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        """What changed from another version (default: the active one) to this one: rules
        added, removed and changed part by part, criteria, bands and the reference context.

        `POST /v1/rulesets/{version}/impact` says what the change does to proposals.
        """
        new, _ = _version(version)
        old, _ = _version(body.get("against") or ACTIVE)
        changes = ruleset_changes(old, new)
        return {"old": old.identity, "new": new.identity,
                "added": [readable(r) for r in changes.added],
                "removed": [readable(r) for r in changes.removed],
                "changed": [_item(c) for c in changes.changed],
                "unchanged": changes.unchanged,
                "criteria": [_item(c) for c in changes.criteria],
                "bands": [_item(c) for c in changes.bands],
                "context_changed": changes.context_changed}
