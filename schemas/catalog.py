"""What a client needs to build requests: who it is, the example proposals, and every field of
a proposal (and the derived fields rules may read) with its label and vocabulary, from which a
form can be generated."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.fields import Verbatim, one_of
from schemas.proposal import ProposalSchema

FIELD_KINDS = ("number", "string", "bool", "list")


class CallerSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The API key's name; "
                                                                 "`anonymous` without keys."})
    role = one_of(("evaluator", "analyst", "admin"), required=True)
    authenticated = fields.Boolean(required=True, metadata={
        "description": "False when the service runs without keys (embedded development): "
                       "every caller is then admin."})


class ExampleSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The file name without "
                                                                 "`.json`.",
                                                  "example": "tomahawk-2023"})
    title = fields.String(required=True)
    proposal = Verbatim(ProposalSchema, required=True, metadata={"description": "As stored: "
                                                                 "POST it to evaluate it."})


class ExampleListSchema(Schema):
    examples = fields.List(fields.Nested(ExampleSchema), required=True,
                           metadata={"description": "By name."})


class FieldSchema(Schema):
    """One field path of a proposal (or a derived field), as rules and forms name it."""

    path = fields.String(required=True, metadata={"example": "acquisition.quantity"})
    label = fields.String(required=True, metadata={"example": "Quantity"})
    kind = one_of(FIELD_KINDS, required=True, metadata={"description": "A list holds strings."})
    description = fields.String(required=True)
    values = fields.List(fields.String(), allow_none=True,
                         metadata={"description": "The closed vocabulary of a string, or of a "
                                                  "list's items."})
    pattern = fields.String(allow_none=True, metadata={"description": "The form of an open "
                                                                      "vocabulary (ISO codes)."})
    unit = fields.String(allow_none=True, metadata={"example": "JPY"})
    required = fields.Boolean(required=True, metadata={"description": "A proposal must give "
                                                                      "it (when its section is "
                                                                      "given)."})
    default = fields.Raw(allow_none=True, metadata={"description": "What an omitted field "
                                                                   "loads as."})
    derived = fields.Boolean(required=True, metadata={"description": "Computed before the "
                                                                     "rules run; not sent."})


class FieldListSchema(Schema):
    fields_ = fields.List(fields.Nested(FieldSchema), required=True, data_key="fields",
                          metadata={"description": "Proposal fields in schema order, then the "
                                                   "derived fields."})
