"""A scored batch as a table: ranked rows without their evaluations, filtered as an analyst
narrows a list, and one item's evaluation by its position in the upload."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.batch import BATCH_STATUSES, PageQuerySchema
from schemas.evaluation import EvaluationSchema, RulesetIdentitySchema
from schemas.fields import Verbatim, one_of
from schemas.vocabulary import CAPABILITY_AREAS, RATINGS, RECOMMENDATIONS


class RowsQuerySchema(PageQuerySchema):
    sort = fields.String(load_default="overall_score",
                         metadata={"description": "`overall_score` or a criterion name; ties "
                                                  "keep upload order."})
    order = one_of(("desc", "asc"), load_default="desc",
                   metadata={"description": "`desc`: best first."})
    rating = one_of(RATINGS, metadata={"description": "Only rows with this rating."})
    recommendation = one_of(RECOMMENDATIONS,
                            metadata={"description": "Only rows with this recommendation."})
    capability_area = one_of(CAPABILITY_AREAS,
                             metadata={"description": "Only rows of this capability area."})
    q = fields.String(validate=validate.Length(max=300),
                      metadata={"description": "Only rows whose title or proposal id contains "
                                               "this text (any case)."})


class RowSchema(Schema):
    rank = fields.Integer(required=True, metadata={"description": "Among all scored rows by "
                                                                 "`sort`, filters aside."})
    index = fields.Integer(required=True, metadata={"description": "Position in the upload, "
                                                                   "from 0."})
    line = fields.Integer(required=True)
    proposal_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    overall_score = fields.Float(required=True)
    rating = fields.String(required=True)
    recommendation = fields.String(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    deficiencies = fields.List(fields.String(), required=True)
    capability_area = fields.String(allow_none=True)
    total_cost_jpy = fields.Float(allow_none=True)
    decision_id = fields.String(required=True)


class RowsPageSchema(Schema):
    batch_id = fields.String(required=True)
    status = one_of(BATCH_STATUSES, required=True)
    complete = fields.Boolean(required=True, metadata={"description": "False while the batch "
                                                                      "runs: ranks may move."})
    ruleset = fields.Nested(RulesetIdentitySchema, allow_none=True,
                            metadata={"description": "The version the batch is scored with."})
    criteria = fields.List(fields.String(), required=True,
                           metadata={"description": "What `sort` accepts besides "
                                                    "`overall_score`."})
    sort = fields.String(required=True)
    order = fields.String(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    scored = fields.Integer(required=True, metadata={"description": "Rows scored so far."})
    total = fields.Integer(required=True, metadata={"description": "Rows matching the "
                                                                   "filters."})
    pages = fields.Integer(required=True)
    items = fields.List(fields.Nested(RowSchema), required=True)


class BatchItemSchema(Schema):
    index = fields.Integer(required=True)
    line = fields.Integer(required=True)
    proposal_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    evaluation = Verbatim(EvaluationSchema, required=True)
