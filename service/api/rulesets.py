"""``/v1/rulesets``: the active ruleset, published versions, publishing, activation, impact.

Publishing checks a ruleset exactly as ``policy-eval rules check`` does and refuses it with
the same ``file:line:col: rule-id: message`` problems; a refused ruleset changes nothing. A
published version is immutable. Activating one makes evaluations submitted from then on use it
(this API re-reads the active version at most once a second; each evaluation is pinned to the
version active when it was submitted, and names it in its result).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.errors import ROOT
from schemas.job import JobSchema
from schemas.ruleset import (
    ActivateSchema,
    ImpactRequestSchema,
    PublishQuerySchema,
    RulesetSchema,
    VersionDetailSchema,
    VersionListSchema,
)
from service.api import analyses
from service.api.auth import ANONYMOUS, current_caller
from service.api.batches import visible_batch
from service.api.problems import Problem
from service.api.runtime import Runtime
from service.engine import (
    MAX_RULESET_BYTES,
    Rule,
    Ruleset,
    RulesetError,
    parse_ruleset,
    scale_data,
)
from service.registry.store import RulesetRecord, UnknownVersion, VersionConflict

blp = Blueprint("rulesets", __name__, url_prefix="/v1/rulesets",
                description="Ruleset versions: publish, activate, compare.")

# a ruleset as a request body: its YAML file, or the same as JSON
RULESET_BODY = {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}}}}
RULESET_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
                       "application/json", "text/plain")


def runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def _rule(rule: Rule) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": rule.id, "criterion": rule.criterion, "title": rule.title,
        "description": rule.description, "points": rule.points, "deficiency": rule.deficiency}
    if rule.scale:
        summary["scale"] = scale_data(rule)
    if rule.scope:
        summary["scope"] = rule.scope.describe()
    return summary


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
        "rules": [_rule(r) for r in ruleset.rules],
    }


def _detail(state: Runtime, record: RulesetRecord) -> dict[str, Any]:
    ruleset = state.backends.engines.ruleset(record.version)
    active = state.backends.rulesets.active_version()
    return {**describe(ruleset, state.settings.engine), **record.summary(),
            "active": record.version == active, "document": ruleset.document}


def _author(claimed: str) -> str:
    """The API key's name when callers authenticate; what the caller claims otherwise."""
    caller = current_caller()
    return claimed if caller is ANONYMOUS else caller.name


def _record(state: Runtime, version: str) -> RulesetRecord:
    record = state.backends.rulesets.get(version)
    if record is None:
        raise Problem(404, f"No ruleset version {version!r} is published.")
    return record


def _parse_body(source: str) -> Ruleset:
    if request.mimetype not in RULESET_MEDIA_TYPES:
        raise Problem(415, "Send the ruleset as YAML (application/yaml) or JSON.",
                      errors=[{"field": "Content-Type", "location": "header",
                               "message": f"Must be one of {', '.join(RULESET_MEDIA_TYPES)}."}])
    request.max_content_length = MAX_RULESET_BYTES  # refused unread when it says it is more
    try:
        text = request.get_data().decode("utf-8")
    except RequestEntityTooLarge:
        raise Problem(413, f"The ruleset is larger than {MAX_RULESET_BYTES:,} bytes: a rule "
                           f"file is at most {MAX_RULESET_BYTES:,} bytes. Nothing was "
                           "published.",
                      errors=[{"field": ROOT, "location": "body",
                               "message": f"Larger than {MAX_RULESET_BYTES:,} bytes."}]) from None
    except UnicodeDecodeError:
        raise Problem(400, "The ruleset is not UTF-8 text.") from None
    try:
        # a `context:` path is found beside the server's own ruleset file
        return parse_ruleset(text, source, runtime().settings.ruleset.parent)
    except RulesetError as error:
        problems = [{**p.as_dict(), "text": str(p)} for p in error.problems]
        raise Problem(422, f"The ruleset has {len(problems)} problem(s); nothing was published.",
                      slug="invalid-ruleset", problems=problems) from None


@blp.route("")
class Rulesets(MethodView):
    @blp.response(200, VersionListSchema)
    def get(self) -> dict[str, Any]:
        """Published versions, oldest first, with note, author and time; the active one."""
        store = runtime().backends.rulesets
        active = store.active_version()
        return {"active": active,
                "versions": [{**r.summary(), "active": r.version == active}
                             for r in store.records()],
                "activations": store.activations()}

    @blp.arguments(PublishQuerySchema, location="query", unknown=None)  # its RAISE, as above
    @blp.response(201, VersionDetailSchema, description="Published.")
    @blp.alt_response(200, schema=VersionDetailSchema,
                      description="Already published with this very content: nothing changed.")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.doc(requestBody=RULESET_BODY)
    def post(self, query: dict[str, Any]) -> Any:
        """Publish a ruleset version (its YAML file, or the same as JSON).

        Checked as `policy-eval rules check` checks it; any problem refuses the whole ruleset
        (422, every problem with file, line and rule) and the active version keeps serving.
        A file over the rule-file limit of 1 MiB is refused unread (413).
        """
        state = runtime()
        ruleset = _parse_body(query["source"])
        author = _author(query["author"])
        record = RulesetRecord.of(ruleset, query["note"], author)
        try:
            created = state.backends.rulesets.add(record)
        except VersionConflict as error:
            raise Problem(409, str(error), stored_hash=error.stored_hash,
                          new_hash=error.new_hash) from None
        if query["activate"]:
            state.backends.rulesets.activate(ruleset.version, author)
            state.forget_active()
        location = url_for("rulesets.RulesetVersion", version=ruleset.version)
        stored = _record(state, ruleset.version)
        return _detail(state, stored), 201 if created else 200, {"Location": location}


@blp.route("/active")
class ActiveRuleset(MethodView):
    @blp.response(200, RulesetSchema)
    def get(self) -> dict[str, Any]:
        """The active ruleset: criteria with weights and rationale, rating bands, rules.

        `hash` is the one every evaluation reports, so a result can be traced to these rules.
        """
        state = runtime()
        return describe(state.active_ruleset(), state.settings.engine)

    @blp.arguments(ActivateSchema)
    @blp.response(200, RulesetSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Activate a published version (an older one to roll back).

        Evaluations submitted from now on use it; those in flight finish on theirs.
        """
        state = runtime()
        try:
            state.backends.rulesets.activate(body["version"], _author(body["by"]))
        except UnknownVersion:
            raise Problem(404, f"No ruleset version {body['version']!r} is published; "
                               "publish it first.") from None
        state.forget_active()
        return describe(state.backends.engines.ruleset(body["version"]), state.settings.engine)


@blp.route("/<string:version>")
class RulesetVersion(MethodView):
    @blp.response(200, VersionDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, version: str) -> dict[str, Any]:
        """One published version: its rules, note, author, time and content."""
        state = runtime()
        return _detail(state, _record(state, version))


@blp.route("/<string:version>/impact")
class Impact(MethodView):
    @blp.arguments(ImpactRequestSchema)
    @blp.response(202, JobSchema, description="Started: poll `Location` (the job) for its "
                                              "progress and, once `done`, its result.",
                  headers=analyses.ACCEPTED_HEADERS)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, body: dict[str, Any], version: str) -> Any:
        """What activating this version would change, before it is active: an analysis job.

        Every proposal (those sent, or every valid one of a stored batch of yours, however
        many) is evaluated under both versions on a worker; the job's result lists those whose
        rating, recommendation or rank changes, old and new side by side, with the rules
        responsible. Poll the job at `Location` (`/v1/jobs/{id}`).
        """
        state = runtime()
        against = body.get("against") or state.active_version()
        for name in (version, against):
            _record(state, name)
        if "batch_id" in body:
            batch_id = visible_batch(state.backends.batches, body["batch_id"])["id"]
            args: tuple[Any, ...] = (against, version, None, batch_id)
        else:  # as sent: the worker validates again
            args = (against, version, (request.get_json() or {})["proposals"])
        return analyses.start(state, "impact", args, version=version, against=against)
