"""``/v1/batches``: score up to ``BATCH_MAX_ITEMS`` proposals in one job.

POST an upload (JSON array, JSON Lines or CSV; as the body or a multipart file) and get 202
with ``Location`` once every item is stored and queued. Poll the batch for progress, read its
results ranked by any criterion (a page, or the whole as a streamed JSON Lines / CSV download),
its failures, and the best portfolio within a budget; DELETE cancels what is still queued.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, cast

import orjson
from flask import Response, current_app, request, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.batch import (
    BatchSchema,
    BatchSubmitQuerySchema,
    FailuresPageSchema,
    IdempotencyHeaderSchema,
    PageQuerySchema,
    PortfolioQuerySchema,
    PortfolioSchema,
    ResultsPageSchema,
    ResultsQuerySchema,
)
from service.api.auth import current_caller
from service.api.problems import PROBLEM_TYPES, Problem
from service.api.runtime import Runtime
from service.batch import chunks, intake, portfolio, report
from service.batch.formats import FORMATS, MEDIA_TYPES, XLSX_MEDIA_TYPE, format_for
from service.batch.settings import BatchSettings
from service.batch.store import ACTIVE, CANCELLED, DONE, OVERALL, RECEIVING, BatchStore
from service.clock import utc_now
from service.engine import Explain
from service.observability import metrics

blp = Blueprint(
    "batches", __name__, url_prefix="/v1/batches",
    description="Score many proposals in one job: progress, failures, ranking, portfolio.",
)

PROBLEM_TYPES.update({
    "invalid-upload": (
        "Invalid batch upload",
        "The upload cannot be read as a whole: wrong content type, not UTF-8, a JSON syntax "
        "error, a CSV row with the wrong number of cells or an unknown column, or no proposals "
        "at all. `detail` and `line` say where reading stopped. Nothing was stored. (A bad "
        "value inside one proposal is not this: it is reported for that proposal alone, in "
        "the batch's failures.)",
    ),
    "too-many-proposals": (
        "Too many proposals",
        "The upload holds more proposals than `BATCH_MAX_ITEMS`, or more bytes than "
        "`BATCH_MAX_BYTES`. Nothing was stored; split it into several batches.",
    ),
    "idempotency-key-reused": (
        "Idempotency-Key reused",
        "This Idempotency-Key was already used for a different upload (or explain level). "
        "Use a new key for a new batch.",
    ),
    "idempotency-key-in-use": (
        "Idempotency-Key in use",
        "A request with this Idempotency-Key is still being uploaded; retry after it finished.",
    ),
    "batch-not-finished": (
        "Batch not finished",
        "The request needs a finished batch: poll the batch until its status is `done` (or "
        "cancel it).",
    ),
    "batch-finished": (
        "Batch already finished",
        "A finished batch cannot be cancelled: every item has its outcome. Its results stay "
        "readable until `BATCH_RESULT_TTL` after it finished.",
    ),
})
# the status of each way an upload is refused (service.batch.intake.Refused)
_REFUSED_STATUS = {"invalid-upload": 400, "too-many-proposals": 413,
                   "idempotency-key-reused": 422, "idempotency-key-in-use": 409}
DOWNLOAD_PAGE = 500  # results read from the store per round trip while streaming
_UPLOAD_BODY = {
    "description": "The proposals: a JSON array of proposal objects, JSON Lines (one proposal "
                   "a line), or CSV (comma, semicolon or tab) or a spreadsheet (.xlsx, its "
                   "first sheet) with one column per field path (see the README's \"CSV "
                   "columns\"; lists as `link16|cec`). Or a multipart form with the file "
                   "in a part named `file` (its content type, else its extension, gives the "
                   "format).",
    "required": True,
    "content": {
        # Each item is validated as it is scored: one that is not a valid proposal is accepted
        # with the upload and listed among the batch's failures, so any item is allowed here.
        "application/json": {"schema": {"type": "array", "minItems": 1,  # empty: 400
                                        "items": {"anyOf": [
                                            {"$ref": "#/components/schemas/Proposal"},
                                            {"description": "Anything else: listed among the "
                                                            "batch's failures."}]}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {
                                               "file": {"type": "string", "format": "binary"}}}},
    },
}

# `format=csv` and `format=jsonl`: the README's "Batches" lists the CSV columns
_DOWNLOADS = {
    "text/csv": {"schema": {"type": "string"}},
    "application/x-ndjson": {"schema": {"type": "string",
                                        "description": "One ranked result a line, then one "
                                                       "line per failed item."}},
}


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def _store() -> BatchStore:
    return _runtime().backends.batches


def _settings() -> BatchSettings:
    found: BatchSettings | None = current_app.extensions.get("policy_eval_batches")
    if found is None:
        found = current_app.extensions["policy_eval_batches"] = BatchSettings.from_env()
    return found


def _meta(batch_id: str) -> dict[str, str]:
    """The record of a batch the caller may see; another caller's is 404 as an unknown one."""
    return visible_batch(_store(), batch_id)


def visible_batch(store: BatchStore, batch_id: str) -> dict[str, str]:
    """The record of ``batch_id`` if it exists, is received and belongs to the caller (or the
    caller is an admin); else 404, the same answer whichever of these failed."""
    meta = store.meta(batch_id) if len(batch_id) <= 64 else None
    if (meta is None or meta["state"] == RECEIVING
            or not current_caller().may_see(meta.get("caller"))):
        raise Problem(404, f"No batch {batch_id!r}: never submitted here, or expired "
                           "(BATCH_RESULT_TTL after it finished).")
    return meta


def _idempotency_key(key: str | None) -> str | None:
    """The key as the caller's own: another caller sending the same key neither replays nor
    blocks this one's batch, nor learns that the key was used. Length-prefixed, so no caller
    name and key can spell another pair."""
    if key is None:
        return None
    caller = current_caller().name
    return f"{len(caller)}:{caller}:{key}"


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def describe(batch_id: str, meta: dict[str, str]) -> dict[str, Any]:
    """The batch resource: counts, percent, rate and ETA, derived from the store."""
    done, failed = _store().counts(batch_id)
    total = int(meta.get("total", 0))
    processed = done + failed
    state = meta["state"]
    status = {DONE: "done", CANCELLED: "cancelled"}.get(
        state, "running" if meta.get("started_at") or processed else "queued")
    now = datetime.now(timezone.utc)
    started = _parse_time(meta.get("started_at"))
    rate = eta = None
    if started is not None and processed:
        end = _parse_time(meta.get("finished_at") or meta.get("cancelled_at")) or now
        elapsed = max((end - started).total_seconds(), 1e-3)
        rate = round(processed / elapsed, 1)
        if status == "running":
            eta = round((total - processed) / rate, 1)
    links = {name: url_for(f"batches.{view}", batch_id=batch_id)
             for name, view in (("self", "BatchById"), ("results", "BatchResults"),
                                ("failures", "BatchFailures"), ("portfolio", "BatchPortfolio"))}
    return {
        "id": batch_id, "status": status, "format": meta["format"], "explain": meta["explain"],
        "counterfactuals": meta.get("counterfactuals") == "1",
        "total": total, "done": done, "failed": failed, "pending": max(total - processed, 0),
        "percent": round(100 * processed / total, 1) if total else 100.0,
        "rate_per_second": rate, "eta_seconds": eta,
        "submitted_at": meta["submitted_at"], "started_at": meta.get("started_at"),
        "finished_at": meta.get("finished_at"), "cancelled_at": meta.get("cancelled_at"),
        "expires_in_seconds": _expires_in(meta),
        "links": links,
    }


def _expires_in(meta: dict[str, str]) -> int | None:
    finished = _parse_time(meta.get("finished_at") or meta.get("cancelled_at"))
    if finished is None:
        return None
    left = int(meta["ttl"]) - (datetime.now(timezone.utc) - finished).total_seconds()
    return max(int(left), 0)


def _upload(explain: str, counterfactuals: bool) -> intake.Upload:
    """The upload's format and stream, from the body or a multipart file part."""
    request.max_content_length = _settings().max_bytes  # batches are larger than proposals
    accepted = ", ".join(sorted({*MEDIA_TYPES, "multipart/form-data"}))
    if request.mimetype == "multipart/form-data":
        try:
            files = request.files
        except RequestEntityTooLarge:
            raise _too_large() from None
        # the part named `file`, else the one part with a file name (browsers send an empty
        # part without a name when no file was chosen)
        named = [f for f in files.values() if f.filename]
        part = files.get("file") or (named[0] if len(named) == 1 else None)
        if part is None:
            raise Problem(400, "The multipart form has no file part; send the file as `file`.",
                          slug="invalid-upload",
                          errors=[{"field": "file", "location": "body",
                                   "message": "Missing file part."}])
        fmt = format_for(part.mimetype, part.filename)
        if fmt is None:
            raise Problem(415, f"Cannot tell the format of {part.filename!r} "
                               f"({part.mimetype}); use one of {accepted}, or a .json, "
                               ".jsonl, .csv or .xlsx file name.", slug="invalid-upload",
                          errors=[{"field": "file", "location": "body",
                                   "message": f"Format must be one of {', '.join(FORMATS)}."}])
        return intake.Upload(fmt, part.stream, explain,  # type: ignore[arg-type]
                             counterfactuals)
    fmt = format_for(request.mimetype)
    if fmt is None:
        raise Problem(415, f"Send the batch as one of {accepted}, not "
                           f"{request.mimetype or 'a body without Content-Type'}.",
                      slug="invalid-upload",
                      errors=[{"field": "Content-Type", "location": "header",
                               "message": f"Must be one of {accepted}."}])
    try:
        stream = request.stream
    except RequestEntityTooLarge:
        raise _too_large() from None
    return intake.Upload(fmt, stream, explain, counterfactuals)  # type: ignore[arg-type]


def _too_large() -> Problem:
    return _refused(intake.too_large(_settings()))


def _refused(refusal: intake.Refused) -> Problem:
    location = "header" if refusal.field == "Idempotency-Key" else "body"
    problem = Problem(_REFUSED_STATUS[refusal.kind], refusal.detail, slug=refusal.kind,
                      errors=[{"field": refusal.field, "location": location,
                               "message": refusal.message}])
    if refusal.line is not None:
        problem.extensions["line"] = refusal.line
    if refusal.kind == "idempotency-key-in-use":
        problem.headers["Retry-After"] = "1"
    return problem


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialized with orjson: pages embed full evaluations, and portfolios list every item."""
    response = current_app.response_class(orjson.dumps(body), status=status,
                                          mimetype="application/json")
    response.headers.update(headers or {})
    return response


@blp.route("")
class Batches(MethodView):
    @blp.arguments(BatchSubmitQuerySchema, location="query")
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.doc(requestBody=_UPLOAD_BODY)
    @blp.response(202, BatchSchema, description="Stored and queued: poll `Location`.",
                  headers={"Location": {"description": "The batch.",
                                        "schema": {"type": "string"}}})
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, query: dict[str, Any], headers: dict[str, Any]) -> Any:
        """Submit a batch of proposals.

        Every item is stored, and its chunk queued, before this answers 202. Items are
        validated one by one as they are scored: an invalid one appears in the batch's
        failures (with its index, line and field errors) and the others are scored anyway.
        An unreadable upload (400), an unknown content type (415) or more than
        `BATCH_MAX_ITEMS` proposals (413) stores nothing.
        """
        upload = _upload(query["explain"], query["counterfactuals"])
        runtime = _runtime()
        pinned = {"ruleset_version": runtime.active_version(), "caller": current_caller().name}
        try:
            accepted = intake.submit(runtime.workers.publish_chunks, _store(), _settings(),
                                     upload, _idempotency_key(headers.get("idempotency_key")),
                                     pinned)
        except intake.Refused as refusal:
            raise _refused(refusal) from None
        meta = _meta(accepted.batch_id)
        extra = {"Location": url_for("batches.BatchById", batch_id=accepted.batch_id),
                 "Retry-After": "1"}
        if accepted.replayed:
            extra["Idempotent-Replayed"] = "true"
        return describe(accepted.batch_id, meta), 202, extra


@blp.route("/<string:batch_id>")
class BatchById(MethodView):
    @blp.response(200, BatchSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, batch_id: str) -> Any:
        """Progress of a batch: counts, percent, rate, ETA, start and end times."""
        body = describe(batch_id, _meta(batch_id))
        running = body["status"] in ("queued", "running")
        return body, 200, {"Retry-After": "1"} if running else {}

    @blp.response(200, BatchSchema, description="Cancelled (or already cancelled).")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, batch_id: str) -> Any:
        """Cancel a batch: chunks not yet started are dropped, chunks in progress stop at their
        next checkpoint. What was scored stays readable until the batch expires."""
        _meta(batch_id)
        state = _store().cancel(batch_id, utc_now())
        if state == DONE:
            raise Problem(409, "The batch has already finished, so there is nothing to cancel; "
                               "its results stay readable until BATCH_RESULT_TTL after it "
                               "finished.", slug="batch-finished")
        return describe(batch_id, _meta(batch_id))


def _sort(meta: dict[str, str], sort: str) -> str:
    """``sort`` if the batch can be ranked by it: the overall score or a criterion of the
    ruleset the batch was scored with (known from the start, whatever its items became)."""
    ruleset = _runtime().backends.engines.ruleset(meta["ruleset_version"])
    allowed = [OVERALL, *(c.name for c in ruleset.criteria)]
    if sort not in allowed:
        raise Problem(422, f"Cannot sort by {sort!r}; use one of {', '.join(allowed)}.",
                      slug="invalid-parameter",
                      errors=[{"field": "sort", "location": "query",
                               "message": f"Must be one of: {', '.join(allowed)}."}])
    return sort


@blp.route("/<string:batch_id>/results")
class BatchResults(MethodView):
    @blp.arguments(ResultsQuerySchema, location="query")
    @blp.response(200, ResultsPageSchema, description="A page of results (`format=json`); "
                  "with `format=jsonl` or `csv`, the whole batch as a download.",
                  content_type="application/json")
    @blp.doc(responses={200: {"content": _DOWNLOADS}})  # merged into the 200 above
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, query: dict[str, Any], batch_id: str) -> Any:
        """Results ranked by the overall score or a criterion.

        While the batch runs this is what is scored so far (`complete` is false). Downloads
        list every scored proposal by rank, then every failed one in upload order; CSV text
        cells that a spreadsheet would run as a formula are prefixed with `'`.
        """
        meta = _meta(batch_id)
        sort = _sort(meta, query["sort"])
        reverse = query["order"] == "asc"
        if query["format"] != "json":
            return _download(batch_id, meta, sort, reverse, query["format"])
        store = _store()
        total, _ = store.counts(batch_id)
        size, page = query["page_size"], query["page"]
        start = (page - 1) * size
        indexes = store.ranked(batch_id, sort, start, start + size - 1, reverse)
        items = []
        for position, index, summary, evaluation in zip(
                range(start, start + len(indexes)), indexes, store.summaries(batch_id, indexes),
                worded(batch_id, meta, indexes), strict=True):
            if summary is None or evaluation is None:
                continue
            items.append({
                "rank": total - position if reverse else position + 1, "index": index,
                "line": summary["line"], "proposal_id": summary["proposal_id"],
                "title": summary["title"], "overall_score": summary["overall_score"],
                "rating": summary["rating"], "recommendation": summary["recommendation"],
                "scores": summary["scores"], "deficiencies": summary["deficiencies"],
                "evaluation": orjson.Fragment(evaluation),
            })
        status = describe(batch_id, meta)["status"]
        return _json({"batch_id": batch_id, "status": status, "complete": status == "done",
                      "sort": sort, "order": query["order"], "page": page, "page_size": size,
                      "total": total, "pages": math.ceil(total / size), "items": items})


def worded(batch_id: str, meta: dict[str, str], indexes: list[int]) -> list[bytes | None]:
    """The results of scored items, worded now by the ruleset version that scored the batch
    (the batch stores each item's proposal and summary: ``service.batch.chunks``)."""
    engine = _runtime().backends.engines.engine(meta.get("ruleset_version") or None)
    explain = cast(Explain, meta["explain"])
    return chunks.word(engine, explain, _store().proposals(batch_id, indexes))


def _download(batch_id: str, meta: dict[str, str], sort: str, reverse: bool, fmt: str
              ) -> Response:
    store = _store()
    criteria = json.loads(meta.get("criteria") or "[]")
    searched = meta.get("counterfactuals") == "1"  # submitted with counterfactuals=true
    total, _ = store.counts(batch_id)

    def generate() -> Iterator[bytes]:
        if fmt == "csv":
            yield report.csv_bytes([report.csv_header(criteria, searched)])
        position = 0
        while True:
            indexes = store.ranked(batch_id, sort, position, position + DOWNLOAD_PAGE - 1,
                                   reverse)
            if not indexes:
                break
            summaries = store.summaries(batch_id, indexes)
            ranks = [total - p if reverse else p + 1
                     for p in range(position, position + len(indexes))]
            if fmt == "csv":
                yield report.csv_bytes(report.scored_row(rank, s, criteria, searched)
                                       for rank, s in zip(ranks, summaries, strict=True)
                                       if s is not None)
            else:
                evaluations = worded(batch_id, meta, indexes)
                yield b"".join(report.jsonl_scored(rank, s, e)
                               for rank, s, e in zip(ranks, summaries, evaluations, strict=True)
                               if s is not None and e is not None)
            position += len(indexes)
        for failures in _failure_pages(store, batch_id):
            if fmt == "csv":
                yield report.csv_bytes(report.failed_row(f, criteria, searched)
                                       for f in failures)
            else:
                yield b"".join(report.jsonl_failed(f) for f in failures)

    media = "text/csv" if fmt == "csv" else "application/x-ndjson"  # Flask adds text's charset
    name = f"batch-{batch_id}-by-{sort}.{fmt}"
    return current_app.response_class(stream_with_context(generate()), mimetype=media,
                                       headers={"Content-Disposition":
                                                f'attachment; filename="{name}"'})


def _failure_pages(store: BatchStore, batch_id: str) -> Iterator[list[dict[str, Any]]]:
    position = 0
    while True:
        page = store.failures(batch_id, position, position + DOWNLOAD_PAGE - 1)
        if not page:
            return
        yield page
        position += len(page)


@blp.route("/<string:batch_id>/failures")
class BatchFailures(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, FailuresPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, Any], batch_id: str) -> Any:
        """Items that could not be scored, in upload order: index, line and field errors."""
        _meta(batch_id)
        store = _store()
        _, total = store.counts(batch_id)
        size, page = query["page_size"], query["page"]
        items = store.failures(batch_id, (page - 1) * size, page * size - 1)
        return _json({"batch_id": batch_id, "page": page, "page_size": size, "total": total,
                      "pages": math.ceil(total / size), "items": items})


@blp.route("/<string:batch_id>/portfolio")
class BatchPortfolio(MethodView):
    @blp.arguments(PortfolioQuerySchema, location="query")
    @blp.response(200, PortfolioSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, query: dict[str, Any], batch_id: str) -> Any:
        """The set of proposals with the greatest total score within the budget.

        Exact 0/1 knapsack (branch and bound; `exact` says optimality was proven, else
        `upper_bound` bounds the optimum). Deficient proposals are never funded; every
        proposal left out has a `reason`. Without `budget`, each capability area competes
        for what remains of its Defense Buildup Program envelope.
        """
        meta = _meta(batch_id)
        budget = query.get("budget")
        check_budget(budget, query["currency"], "query")  # whatever state the batch is in
        require_finished(meta, "its portfolio would change")
        store = _store()
        failures = [f for page in _failure_pages(store, batch_id) for f in page]
        body = portfolio.build(store.all_summaries(batch_id), failures, budget,
                               query["currency"])
        return _json({"batch_id": batch_id, **body})


def check_budget(budget: float | None, currency: str, location: str) -> None:
    """A portfolio's budget and currency: without a budget, the envelopes, which are in JPY."""
    if budget is None and currency != "JPY":
        raise Problem(422, "Envelopes are in JPY: give a budget to use USD.",
                      slug="invalid-parameter",
                      errors=[{"field": "currency", "location": location,
                               "message": "USD needs a budget."}])


def require_finished(meta: dict[str, str], why: str) -> None:
    """409 while the batch is being scored (``why``: what would change)."""
    if meta["state"] == ACTIVE:
        raise Problem(409, f"The batch is still running; {why}. Poll the batch until it is "
                           "done (or cancel it).",
                      slug="batch-not-finished", headers={"Retry-After": "1"})


def report_progress(runtime: Runtime) -> None:
    """Feed /metrics the progress of unfinished batches, read from their records at scrape time
    (the records are the truth; a gauge pushed by workers would go stale when they exit)."""
    store = runtime.backends.batches

    def unfinished() -> list[metrics.BatchProgress]:
        found = []
        for batch_id, meta in store.unfinished():
            scored, failed = store.counts(batch_id)
            found.append(metrics.BatchProgress(int(meta.get("total") or 0), scored + failed,
                                               failed))
        return found

    metrics.set_batch_progress_source(unfinished)

