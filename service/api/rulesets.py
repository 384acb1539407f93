"""``/v1/rulesets/active``: the rules proposals are judged by, for analysts and auditors."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.evaluation import RulesetSchema
from service.engine import Ruleset

blp = Blueprint("rulesets", __name__, url_prefix="/v1/rulesets",
                description="The ruleset proposals are evaluated against.")


def describe(ruleset: Ruleset, engine: str) -> dict[str, Any]:
    return {
        "name": ruleset.name,
        "version": ruleset.version,
        "hash": ruleset.content_hash,
        "description": ruleset.description,
        "engine": engine,
        "criteria": [
            {"name": c.name, "label": c.label, "weight": c.weight, "baseline": c.baseline,
             "rationale": c.rationale}
            for c in ruleset.criteria
        ],
        "bands": [
            {"rating": b.rating, "min_score": b.min_score, "recommendation": b.recommendation}
            for b in ruleset.bands
        ],
        "rules": [
            {"id": r.id, "criterion": r.criterion, "title": r.title,
             "description": r.description, "points": r.points, "deficiency": r.deficiency}
            for r in ruleset.rules
        ],
    }


@blp.route("/active")
class ActiveRuleset(MethodView):
    @blp.response(200, RulesetSchema)
    def get(self) -> dict[str, Any]:
        """The active ruleset: criteria with weights and rationale, rating bands, rules.

        `hash` is the one every evaluation reports, so a result can be traced to these rules.
        """
        runtime = current_app.extensions["policy_eval"]
        return describe(runtime.ruleset, runtime.settings.engine)
