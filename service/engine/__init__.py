"""The policy engine: a pure library (no Flask, Celery or Redis) that turns a proposal and a
ruleset into a scored, explained recommendation. This module is its one way in: the API, the
workers, the batch pipeline and the command line import from here, never from the parts.

The parts, after OPA's layering (parse → compile → evaluate):

- ``language``: the rule language. Rule files are read (``source``) and checked against the
  field catalog (``catalog``, ``derived``), the operators and the templates into the typed
  model (``model``) with the reference context (``reference``); every problem is reported at
  its ``file:line:col`` (``diagnostics``).
- ``evaluation``: a proposal is validated and flattened into a fact with its derived fields
  (``facts``, ``enrichment``), the evaluators decide which rules fire (``compiled``, the
  ruleset generated as Python, and ``durable``; ``interpreter`` is the tests' reference), and
  the fired rules become scores (``scoring``) and an explanation with evidence (``evidence``,
  ``result``) and the assumptions it rests on (``claims``); ``engine.Engine`` ties them
  together.
- ``authoring``: what analysts run while writing rules: lint warnings, the defensibility
  checks (no improvement punished, no cliff, no fact counted twice, no substring registry
  entry), rule tests with coverage, the impact of a new version, what changed between two
  versions, and conditions in plain words.
- ``whatif``: what would it take: the smallest verified changes that lift a proposal
  (``search`` over the candidates the rules name, ``candidates``), what-if edits (``changes``)
  and results side by side (``compare``).
"""

from service.engine.authoring.changes import (
    ItemChange,
    PartChange,
    RulesetChanges,
    ruleset_changes,
    scale_data,
)
from service.engine.authoring.defensible import Finding, Report
from service.engine.authoring.defensible import check as check_defensible
from service.engine.authoring.impact import Change, Impact, impact
from service.engine.authoring.impact import label as impact_label
from service.engine.authoring.lint import lint
from service.engine.authoring.ruletests import (
    CaseResult,
    Coverage,
    coverage,
    fired_ids,
    run_test_file,
)
from service.engine.authoring.wording import condition_words
from service.engine.evaluation.compiled import CompiledRules
from service.engine.evaluation.engine import (
    Assessment,
    Engine,
    EngineDisagreement,
    Explain,
    Mode,
    ProposalInvalid,
    load_ruleset,
    parse_ruleset,
)
from service.engine.evaluation.evidence import format_value
from service.engine.evaluation.sensitivity import decimal, rating_stability, weight_line
from service.engine.language.catalog import field_catalog
from service.engine.language.diagnostics import RuleProblem, RulesetError
from service.engine.language.fieldspec import FieldSpec
from service.engine.language.loader import MAX_BYTES as MAX_RULESET_BYTES
from service.engine.language.loader import canonical_json, document_json
from service.engine.language.model import Criterion, Range, Rule, Ruleset, Uncertainty
from service.engine.language.source import parse_yaml
from service.engine.language.templates import template_fields
from service.engine.whatif.changes import EditInvalid, apply, edits, name_edit_errors
from service.engine.whatif.compare import comparison, what_if_diff
from service.engine.whatif.search import counterfactuals

__all__ = [
    "MAX_RULESET_BYTES",
    "Assessment",
    "CaseResult",
    "Change",
    "CompiledRules",
    "Coverage",
    "Criterion",
    "EditInvalid",
    "Engine",
    "EngineDisagreement",
    "Explain",
    "FieldSpec",
    "Finding",
    "Impact",
    "ItemChange",
    "Mode",
    "PartChange",
    "ProposalInvalid",
    "Range",
    "Report",
    "Rule",
    "RuleProblem",
    "Ruleset",
    "RulesetChanges",
    "RulesetError",
    "Uncertainty",
    "apply",
    "canonical_json",
    "check_defensible",
    "comparison",
    "condition_words",
    "counterfactuals",
    "coverage",
    "decimal",
    "document_json",
    "edits",
    "field_catalog",
    "fired_ids",
    "format_value",
    "impact",
    "impact_label",
    "lint",
    "load_ruleset",
    "name_edit_errors",
    "parse_ruleset",
    "parse_yaml",
    "rating_stability",
    "ruleset_changes",
    "run_test_file",
    "scale_data",
    "template_fields",
    "weight_line",
    "what_if_diff",
]
