"""What a client needs before it sends anything: who its key says it is, the example proposals
to start from, and the fields of a proposal with their labels and vocabularies (enough to
generate a form, and the names rules use).

The examples are the ``examples/`` folder beside the service's rules folder, where the rule
tests find them (``rules/tests`` names ``../../examples/…``); a deployment without it lists none.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, missing
from marshmallow import fields as ma_fields

from schemas.catalog import CallerSchema, ExampleListSchema, FieldListSchema
from schemas.proposal import ProposalSchema
from service.api.auth import ANONYMOUS, current_caller
from service.api.runtime import Runtime
from service.engine import FieldSpec, field_catalog

blp = Blueprint("catalog", __name__, url_prefix="/v1",
                description="Who the caller is, example proposals, and the fields of a "
                            "proposal with their vocabularies.")
log = logging.getLogger(__name__)
_PROPOSAL = ProposalSchema()


def examples_folder() -> Path:
    runtime: Runtime = current_app.extensions["policy_eval"]
    return runtime.settings.ruleset.parent.parent / "examples"


def _example(path: Path) -> dict[str, Any] | None:
    try:
        proposal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("example %s skipped: %s", path, error)
        return None
    if not isinstance(proposal, dict):
        return None
    return {"name": path.stem, "title": str(proposal.get("title") or path.stem),
            "proposal": proposal}


def _schema_field(path: str) -> ma_fields.Field | None:
    """The marshmallow field at a dotted path of the proposal schema."""
    schema: Schema = _PROPOSAL
    found: ma_fields.Field | None = None
    for part in path.split("."):
        if isinstance(found, ma_fields.Nested):
            schema = found.schema
        found = schema.fields.get(part)
        if found is None:
            return None
    return found


def _default(field: ma_fields.Field | None) -> Any:
    value = field.load_default if field is not None else missing
    # a callable default builds a fresh empty list or section: nothing a form pre-fills
    return None if value is missing or callable(value) else value


def _field(spec: FieldSpec) -> dict[str, Any]:
    derived = spec.path.startswith("derived.")
    schema_field = None if derived else _schema_field(spec.path)
    return {"path": spec.path, "label": spec.label, "kind": spec.kind,
            "description": spec.description, "values": list(spec.values or []) or None,
            "pattern": spec.pattern, "unit": spec.unit,
            "required": bool(schema_field is not None and schema_field.required),
            "default": _default(schema_field), "derived": derived}


@blp.route("/caller")
class Caller(MethodView):
    @blp.response(200, CallerSchema)
    def get(self) -> dict[str, Any]:
        """Who the presented API key is, and its role (what a client may offer its user)."""
        caller = current_caller()
        return {"name": caller.name, "role": caller.role,
                "authenticated": caller is not ANONYMOUS}


@blp.route("/examples")
class Examples(MethodView):
    @blp.response(200, ExampleListSchema)
    def get(self) -> dict[str, Any]:
        """The example proposals shipped beside the rules, each ready to evaluate."""
        found = [_example(path) for path in sorted(examples_folder().glob("*.json"))]
        return {"examples": [example for example in found if example is not None]}


@blp.route("/fields")
class Fields(MethodView):
    @blp.response(200, FieldListSchema)
    def get(self) -> dict[str, Any]:
        """Every field of a proposal with its label, kind, vocabulary, whether it is required
        and its default; then the derived fields rules may also read."""
        return {"fields_": [_field(spec) for spec in field_catalog().values()]}
