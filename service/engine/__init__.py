"""The policy engine: a pure library (no Flask, Celery or Redis) that turns a proposal and a
ruleset into a scored, explained recommendation.

Layers, after OPA: ``loader`` parses and checks rule files, ``native``/``durable`` compile and
evaluate conditions, ``scoring`` and ``result`` turn fired rules into scores and explanations,
``evaluate.Engine`` ties them together.
"""

from service.engine.evaluate import Engine, EngineDisagreement, ProposalInvalid
from service.engine.loader import load_ruleset, parse_ruleset
from service.engine.model import Ruleset
from service.engine.problems import RuleProblem, RulesetError

__all__ = [
    "Engine",
    "EngineDisagreement",
    "ProposalInvalid",
    "RuleProblem",
    "Ruleset",
    "RulesetError",
    "load_ruleset",
    "parse_ruleset",
]
