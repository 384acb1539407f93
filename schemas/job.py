"""Analysis jobs as the API shows them (``/v1/jobs/{id}``): a kind, an owner's work that runs
on the workers, with its progress and, once done, its result."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.errors import ProblemSchema
from schemas.evaluation import timestamp
from schemas.fields import VerbatimOneOf, one_of
from schemas.robustness import RobustnessSchema
from schemas.ruleset import ImpactSchema

JOB_KINDS = ("impact", "robustness")
ANALYSIS_STATUSES = ("queued", "running", "done", "failed", "cancelled")


class JobProgressSchema(Schema):
    done = fields.Integer(required=True, metadata={"description": "Steps done (impact: "
                                                                  "evaluations, two a "
                                                                  "proposal; robustness: "
                                                                  "rankings of the batch, a "
                                                                  "portfolio counted as 60)."})
    total = fields.Integer(required=True)
    percent = fields.Float(required=True)


class JobLinksSchema(Schema):
    self = fields.String(required=True)


class JobSchema(Schema):
    """An analysis job: poll it until `status` is `done`, `failed` or `cancelled`."""

    id = fields.String(required=True, metadata={"example": "0f8fad5b-d9cb-469f-a165-70867728950e"})
    kind = one_of(JOB_KINDS, required=True)
    status = one_of(ANALYSIS_STATUSES, required=True)
    progress = fields.Nested(JobProgressSchema, allow_none=True,
                             metadata={"description": "Null until the worker first reports."})
    submitted_at = timestamp(required=True)
    finished_at = timestamp(allow_none=True)
    cancelled_at = timestamp(allow_none=True)
    result = VerbatimOneOf(ImpactSchema, RobustnessSchema, metadata={
        "description": "When `done`: the report of the job's kind (`impact`: the proposals "
                       "that change; `robustness`: how far the ranking and the portfolio "
                       "hold)."})
    error = fields.Nested(ProblemSchema, metadata={"description": "When `failed`."})
    links = fields.Nested(JobLinksSchema, required=True)
