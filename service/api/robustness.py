"""``POST /v1/batches/{id}/robustness``: how far a finished batch's ranking and portfolio hold
under the uncertainty its ruleset declares, as an analysis job (``/v1/jobs/{id}``).

The request is checked here, whole, before anything is queued: its parameters (422, whatever
the batch's state, as the portfolio's), the batch's state (409 while it is scored), and
whether the batch can be analysed at all under the ruleset it was scored with (409: scored
under another ruleset's criteria, weight intervals too tight to sample, or summaries stored
before they kept what cost uncertainty needs). ``service.robustness.job`` says what the job
computes; the workers run it in units (``service.worker.tasks.robustness``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.job import JobSchema
from schemas.robustness import RobustnessRequestSchema
from service.api import analyses
from service.api.batches import check_budget, require_finished, visible_batch
from service.api.problems import PROBLEM_TYPES, Problem
from service.api.runtime import Runtime
from service.robustness.job import Refused, Request, default_seed, prepare

blp = Blueprint("robustness", __name__, url_prefix="/v1/batches",
                description="How far a batch's ranking and portfolio hold when the weights "
                            "and costs are uncertain.")

PROBLEM_TYPES.update({
    "batch-not-analysable": (
        "Batch cannot be analysed",
        "The batch's robustness cannot be computed under the ruleset it was scored with: "
        "`detail` says why (no scored proposal; weight intervals that leave too little room "
        "to sample; a batch stored before batches kept each proposal's acquisition path and "
        "cost currency, which declared cost uncertainty needs: submit it again).",
    ),
})


@blp.route("/<string:batch_id>/robustness")
class BatchRobustness(MethodView):
    @blp.arguments(RobustnessRequestSchema)
    @blp.response(202, JobSchema, description="Started: poll `Location` (the job) for its "
                                              "progress and, once `done`, its result.",
                  headers=analyses.ACCEPTED_HEADERS)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, body: dict[str, Any], batch_id: str) -> Any:
        """Start the robustness analysis of a finished batch of yours: an analysis job.

        Under the uncertainty its ruleset declares (`uncertainty:`; none declared: every
        sample is the stated weights and costs), the job's result says, per criterion, how far
        its weight can move before the first place and the top `top_k` change and who takes
        over (exact, not sampled); per proposal, how likely it is to rank first, in the top
        `top_k`, its expected rank and 5–95 % rank interval (SMAA-2, over `samples`); and how
        often the optimal portfolio funds it (core indices over the first 500 samples, with
        their standard errors, under the same budget rules as the portfolio), with SVG charts
        of the three. Poll the job at `Location` (`/v1/jobs/{id}`); cancel it there.
        """
        runtime: Runtime = current_app.extensions["policy_eval"]
        store = runtime.backends.batches
        meta = visible_batch(store, batch_id)
        check_budget(body.get("budget"), body["currency"], "body")
        require_finished(meta, "its ranking would change")
        seed = body.get("seed")
        request = Request(batch_id, meta.get("ruleset_version") or runtime.active_version(),
                          body["samples"], body["top_k"],
                          default_seed(batch_id) if seed is None else seed, body.get("budget"),
                          body["currency"])
        ruleset = runtime.backends.engines.ruleset(request.ruleset_version)
        try:
            prepare(store.all_summaries(batch_id), ruleset, request)
        except Refused as refusal:
            raise Problem(409, str(refusal), slug="batch-not-analysable") from None
        return analyses.start(runtime, "robustness", (request.as_dict(),), batch_id=batch_id)
