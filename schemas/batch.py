"""Request and response bodies of ``/v1/batches``: the contract the OpenAPI document
publishes. Result items embed ``EvaluationSchema`` unchanged: a batch result is the single
evaluation of its proposal."""

from __future__ import annotations

from typing import Literal, get_args

from marshmallow import Schema, fields, validate

from schemas.errors import FieldErrorSchema
from schemas.evaluation import EvaluationSchema, timestamp
from schemas.fields import FullMatch, Verbatim, one_of
from schemas.vocabulary import EXPLAIN_LEVELS

BATCH_STATUSES = ("queued", "running", "done", "cancelled")
EXCLUSION_REASONS = ("invalid", "deficiency", "over_budget", "lower_value_per_cost",
                     "crowded_out")
# what an upload may be: a JSON array, JSON Lines, CSV or a spreadsheet (its first sheet)
UploadFormat = Literal["json", "jsonl", "csv", "xlsx"]
UPLOAD_FORMATS: tuple[UploadFormat, ...] = get_args(UploadFormat)
DOWNLOAD_FORMATS = ("json", "jsonl", "csv")
MAX_PAGE_SIZE = 1000
MAX_PAGE = 10**9
# what a ranking key may be: it names the download (Content-Disposition), so no other text
SORT_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"



# --- requests ---------------------------------------------------------------------------------


class BatchSubmitQuerySchema(Schema):
    explain = fields.String(
        load_default="summary", validate=validate.OneOf(EXPLAIN_LEVELS),
        metadata={"description": "`full` also lists, for every proposal, the rules that did not "
                                 "fire (results are about twice as large)."})
    counterfactuals = fields.Boolean(
        load_default=False,
        metadata={"description": "`true`: each result also says how far it is from the next "
                                 "band and the best verified change that would lift it "
                                 "(`next_band_gap` and `best_option` in the CSV and JSON Lines "
                                 "downloads); slower, as each proposal is searched."})


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key", validate=validate.Length(min=1, max=255),
        metadata={"description": "Makes a retried submission safe: the same key with the same "
                                 "upload answers with the batch the first one created (header "
                                 "`Idempotent-Replayed: true`); with a different upload, 422; "
                                 "while the first is still uploading, 409. Kept "
                                 "`BATCH_RESULT_TTL` seconds from the submission.",
                  "example": "3f2b7c1e-import-2026-11-25"})


class PageQuerySchema(Schema):
    # past any batch, and small enough that (page - 1) × page_size is a Redis index (int64)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class ResultsQuerySchema(PageQuerySchema):
    sort = fields.String(
        load_default="overall_score",
        validate=FullMatch(SORT_PATTERN, error="Must be `overall_score` or a criterion "
                                                     "name: letters, digits and `_`."),
        metadata={"description": "`overall_score` or a criterion name of the batch's ruleset "
                                 "(e.g. `budget_fit`); ties keep upload order."})
    order = one_of(("desc", "asc"), load_default="desc",
                  metadata={"description": "`desc`: best first. `asc` is its exact reverse."})
    format = one_of(DOWNLOAD_FORMATS, load_default="json",
                   metadata={"description": "`json`: one page. `jsonl` / `csv`: every result, "
                                            "ranked, then every failure, as a streamed "
                                            "download (`page` and `page_size` ignored)."})


class PortfolioQuerySchema(Schema):
    budget = fields.Float(
        validate=validate.Range(min=0, min_inclusive=False, max=1e16),
        metadata={"description": "Total budget. Default: each capability area competes for "
                                 "what remains of its Defense Buildup Program envelope (JPY).",
                  "exclusiveMinimum": True})  # apispec writes `minimum` alone for OpenAPI 3.0
    currency = one_of(("JPY", "USD"), load_default="JPY")


# --- responses --------------------------------------------------------------------------------


class BatchLinksSchema(Schema):
    self = fields.String(required=True)
    results = fields.String(required=True)
    failures = fields.String(required=True)
    portfolio = fields.String(required=True)


class BatchSchema(Schema):
    """A batch and its progress; poll it until `status` is `done` or `cancelled`."""

    id = fields.String(required=True, metadata={"example": "6f1c0e2a9b7d4c3e8f5a1b2c3d4e5f60"})
    status = one_of(BATCH_STATUSES, required=True)
    format = one_of(UPLOAD_FORMATS, required=True)
    explain = one_of(EXPLAIN_LEVELS, required=True)
    counterfactuals = fields.Boolean(metadata={
        "description": "Submitted with `counterfactuals=true`: the downloads carry each "
                       "proposal's `next_band_gap` and `best_option`."})
    total = fields.Integer(required=True, metadata={"description": "Proposals in the upload."})
    done = fields.Integer(required=True, metadata={"description": "Proposals scored."})
    failed = fields.Integer(required=True,
                            metadata={"description": "Proposals that could not be scored "
                                                     "(invalid, or the engine failed); see "
                                                     "`failures`."})
    pending = fields.Integer(required=True, metadata={"description": "total − done − failed"})
    percent = fields.Float(required=True)
    rate_per_second = fields.Float(allow_none=True)
    eta_seconds = fields.Float(allow_none=True,
                               metadata={"description": "At the rate so far; null before the "
                                                        "first chunk and once finished."})
    submitted_at = timestamp(required=True)
    started_at = timestamp(allow_none=True)
    finished_at = timestamp(allow_none=True)
    cancelled_at = timestamp(allow_none=True)
    expires_in_seconds = fields.Integer(allow_none=True,
                                        metadata={"description": "Results are kept "
                                                                 "`BATCH_RESULT_TTL` seconds "
                                                                 "after the batch finishes."})
    links = fields.Nested(BatchLinksSchema, required=True)


class BatchResultSchema(Schema):
    rank = fields.Integer(required=True, metadata={"description": "1 = best by `sort`."})
    index = fields.Integer(required=True, metadata={"description": "Position in the upload, "
                                                                   "from 0."})
    line = fields.Integer(required=True, metadata={"description": "Line where the item starts "
                                                                  "(CSV: the header is line "
                                                                  "1)."})
    proposal_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    overall_score = fields.Float(required=True)
    rating = fields.String(required=True)
    recommendation = fields.String(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    deficiencies = fields.List(fields.String(), required=True)
    evaluation = Verbatim(EvaluationSchema, required=True)


class ResultsPageSchema(Schema):
    batch_id = fields.String(required=True)
    status = one_of(BATCH_STATUSES, required=True)
    complete = fields.Boolean(required=True, metadata={"description": "False while the batch "
                                                                      "runs: ranks may move."})
    sort = fields.String(required=True)
    order = fields.String(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Results so far."})
    pages = fields.Integer(required=True)
    items = fields.List(fields.Nested(BatchResultSchema), required=True)


class BatchFailureSchema(Schema):
    index = fields.Integer(required=True)
    line = fields.Integer(required=True)
    status = one_of(("invalid", "failed"), required=True,
                   metadata={"description": "`invalid`: fix the proposal; `failed`: the engine "
                                            "could not evaluate it (the worker log says why)."})
    proposal_id = fields.String(allow_none=True, metadata={
        "description": "The item's `id`, when it gives one, even if other fields are wrong."})
    title = fields.String(allow_none=True, metadata={
        "description": "The item's `title`, when it gives one, even if other fields are wrong."})
    errors = fields.List(fields.Nested(FieldErrorSchema), required=True)


class FailuresPageSchema(Schema):
    batch_id = fields.String(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    items = fields.List(fields.Nested(BatchFailureSchema), required=True)


class PortfolioEntrySchema(Schema):
    index = fields.Integer(required=True)
    line = fields.Integer(allow_none=True)
    proposal_id = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    overall_score = fields.Float(allow_none=True)
    cost = fields.Float(allow_none=True, metadata={"description": "In the budget's currency."})
    score_per_billion = fields.Float(allow_none=True,
                                     metadata={"description": "Score points per 1e9 of the "
                                                              "currency."})
    group = fields.String(allow_none=True)
    reason = one_of(EXCLUSION_REASONS, metadata={"description": "Excluded entries only."})
    detail = fields.String(metadata={"description": "The reason in a sentence."})


class PortfolioGroupSchema(Schema):
    name = fields.String(required=True, metadata={"description": "`all`, or a capability "
                                                                 "area."})
    budget = fields.Float(required=True)
    spent = fields.Float(required=True)
    remaining = fields.Float(required=True)
    total_score = fields.Float(required=True)
    upper_bound = fields.Float(required=True)
    max_shortfall = fields.Float(required=True, metadata={
        "description": "`upper_bound − total_score`: 0 when exact; else below the score of "
                       "one of the group's proposals (≤ 100 points)."})
    exact = fields.Boolean(required=True)
    method = fields.String(required=True)
    proposals = fields.Integer(required=True)
    funded = fields.Integer(required=True)


class PortfolioSchema(Schema):
    """The funded set maximizing the total overall score within the budget, and a reason for
    every proposal left out."""

    batch_id = fields.String(required=True)
    currency = one_of(("JPY", "USD"), required=True)
    budget_basis = one_of(("given", "capability_area_envelopes"), required=True)
    budget = fields.Float(required=True)
    spent = fields.Float(required=True)
    total_score = fields.Float(required=True)
    exact = fields.Boolean(required=True, metadata={"description": "Optimality proven."})
    upper_bound = fields.Float(required=True, metadata={"description": "No set within the "
                                                                       "budget scores more."})
    max_shortfall = fields.Float(required=True, metadata={
        "description": "How far `total_score` can be below the optimum: the sum of the groups' "
                       "`max_shortfall`, so at most 100 points with one budget and at most 100 "
                       "per capability area with the envelopes; 0 when `exact`."})
    groups = fields.List(fields.Nested(PortfolioGroupSchema), required=True)
    chosen = fields.List(fields.Nested(PortfolioEntrySchema), required=True)
    excluded = fields.List(fields.Nested(PortfolioEntrySchema), required=True)
