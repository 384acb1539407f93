"""What if, and side by side: ``POST /v1/evaluations/{id}/what-if`` evaluates the caller's
proposal with some fields changed and answers the diff against the original;
``POST /v1/comparisons`` puts 2 to 20 proposals (inline, or evaluations the caller owns) side
by side with ranks and, per pair, the rules that separate them.

Both evaluate on the workers, as any evaluation is (each edited or inline proposal becomes an
evaluation of the caller's, logged as one), under the ruleset version of the evaluations they
start from, so that a difference is the proposals', never two rulesets'.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.errors import field_errors
from schemas.proposal import ProposalSchema
from schemas.whatif import (
    ComparisonRequestSchema,
    ComparisonSchema,
    WhatIfRequestSchema,
    WhatIfSchema,
)
from service.api import jobs
from service.api.evaluations import require_json_object, runtime
from service.api.problems import Problem
from service.engine import (
    EditInvalid,
    apply,
    comparison,
    edits,
    name_edit_errors,
    what_if_diff,
)

blp = Blueprint("whatif", __name__, url_prefix="/v1",
                description="What-if edits of an evaluation, and proposals side by side.")
blp.before_request(require_json_object)
_PROPOSALS = ProposalSchema()


def _owned_done(evaluation_id: str, field: str) -> jobs.Job:
    """The caller's finished evaluation, else 404 (unknown, or another caller's) or 409."""
    job = jobs.lookup(runtime(), evaluation_id) if len(evaluation_id) <= 64 else None
    if job is None:
        raise Problem(404, f"No evaluation {evaluation_id!r}: never submitted here, or its "
                           "result has expired.", errors=[{"field": field, "location": "body",
                                                           "message": "Unknown evaluation."}])
    if job.status != "done" or job.evaluation is None:
        raise Problem(409, f"Evaluation {evaluation_id!r} is {job.status}, not done: ask "
                           "again once it is.")
    return job


@blp.route("/evaluations/<string:evaluation_id>/what-if")
class WhatIf(MethodView):
    @blp.arguments(WhatIfRequestSchema(), location="json",
                   description="The edits: `set` values by dotted path, `unset` paths.")
    @blp.response(200, WhatIfSchema, description="The edited proposal evaluated, with the "
                                                 "diff against the original.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, body: dict[str, Any], evaluation_id: str) -> Any:
        """Evaluate an evaluation's proposal with some fields changed.

        The edited proposal is validated like any other (422 naming `set.<path>` or
        `unset.<path>`) and evaluated under the original's ruleset version, at its explain
        level. An empty change answers the original as `after`, with an all-zero diff.
        """
        state = runtime()
        job = _owned_done(evaluation_id, "evaluation_id")
        proposal = jobs.submitted_proposal(state, job)
        if not isinstance(proposal, dict):
            raise Problem(409, f"Evaluation {evaluation_id!r} was stored without its proposal "
                               "(before what-if existed): evaluate the proposal again.")
        try:
            changes = edits(proposal, body["set"], body["unset"])
        except EditInvalid as error:
            raise Problem(422, f"{error.field} {error.message}.", slug="invalid-proposal", errors=[
                {"field": error.field, "location": "body", "message": error.message}]) from None
        before = job.evaluation
        assert before is not None  # _owned_done
        after: dict[str, Any] | None = before
        after_id = None
        if changes:
            edited = apply(proposal, changes)
            if messages := _PROPOSALS.validate(edited):
                errors = name_edit_errors(field_errors(messages, "body"), changes,
                                          body["unset"])
                raise Problem(422, f"The edited proposal is invalid: {len(errors)} problem(s); "
                                   "each entry of `errors` names the edit.",
                              slug="invalid-proposal", errors=errors)
            done = jobs.evaluate_all(state, [edited], job.explain,
                                     before["ruleset"]["version"])[0]
            after, after_id = done.evaluation, done.id
        assert after is not None
        return {"evaluation_id": evaluation_id, "after_evaluation_id": after_id,
                "changes": [c.data() for c in changes], "before": before, "after": after,
                "diff": what_if_diff(before, after)}


@blp.route("/comparisons")
class Comparisons(MethodView):
    @blp.arguments(ComparisonRequestSchema(), location="json",
                   description="2 to 20 items, each a proposal or an evaluation id.")
    @blp.response(200, ComparisonSchema, description="Side by side, with the rules that "
                                                     "separate each pair.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, body: dict[str, Any]) -> Any:
        """Compare proposals side by side.

        Evaluation ids must be the caller's (404 otherwise) and of one ruleset version; inline
        proposals are evaluated under that version (else the active one).
        """
        items = body["items"]
        results: list[dict[str, Any] | None] = [None] * len(items)
        ids: list[str | None] = [None] * len(items)
        for index, item in enumerate(items):
            if "evaluation_id" in item:
                job = _owned_done(item["evaluation_id"], f"items.{index}.evaluation_id")
                results[index], ids[index] = job.evaluation, job.id
        version = _one_version(results)
        # validated by the schema; evaluated as sent, as POST /v1/evaluations does
        sent = g.proposal_json["items"]
        inline = [(index, sent[index]["proposal"]) for index, item in enumerate(items)
                  if "proposal" in item]
        done = jobs.evaluate_all(runtime(), [p for _, p in inline], "summary", version)
        for (index, _), job in zip(inline, done, strict=True):
            results[index] = job.evaluation
        return comparison([r for r in results if r is not None], ids)


def _one_version(results: list[dict[str, Any] | None]) -> str | None:
    """The ruleset version of the evaluations given by id (None when there are none); 422 when
    they were evaluated under different versions."""
    versions = {r["ruleset"]["version"]: index for index, r in enumerate(results) if r}
    if len(versions) > 1:
        raise Problem(422, "The evaluations were made under different ruleset versions ("
                           f"{', '.join(sorted(versions))}); compare evaluations of one.",
                      errors=[{"field": f"items.{index}.evaluation_id", "location": "body",
                               "message": f"Evaluated under ruleset {version}."}
                              for version, index in versions.items()])
    return next(iter(versions), None)
