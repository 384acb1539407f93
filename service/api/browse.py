"""A batch as a table an analyst narrows: ranked rows (the stored summaries, no evaluations)
filtered by rating, recommendation, capability area or text, and one item's evaluation.

``GET /v1/batches/{id}/results`` pages through full evaluations (~13 KB a row); a row here is
~420 bytes, and filters read every row's summary, which the store keeps for ranking and the
portfolio anyway (filtering 10,000 rows took 20-40 ms embedded, measured with synthetic
proposals). Rows keep their rank among all scored items, so a filtered row still says where it
stands.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.browse import BatchItemSchema, RowsPageSchema, RowsQuerySchema
from service.api.batches import describe, visible_batch, worded
from service.api.problems import Problem
from service.api.runtime import Runtime
from service.batch.store import OVERALL, BatchStore
from service.registry.store import UnknownVersion

blp = Blueprint("browse", __name__, url_prefix="/v1/batches",
                description="A scored batch as a table: ranked rows, filtered and searched; one "
                            "item's evaluation.")

FILTERS = ("rating", "recommendation", "capability_area")
SUMMARY_PAGE = 1000  # summaries read from the store per round trip while filtering


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def _store() -> BatchStore:
    return _runtime().backends.batches


def _meta(batch_id: str) -> dict[str, str]:
    """The record of a batch the caller may see; another caller's is 404 as an unknown one."""
    return visible_batch(_store(), batch_id)


def _ruleset(meta: Mapping[str, str]) -> dict[str, str] | None:
    version = meta.get("ruleset_version")
    try:
        return _runtime().backends.engines.ruleset(version).identity if version else None
    except UnknownVersion:
        return None


def _matches(summary: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    if any(name in query and summary.get(name) != query[name] for name in FILTERS):
        return False
    text = query.get("q", "").casefold()
    return not text or any(text in str(summary.get(key) or "").casefold()
                           for key in ("title", "proposal_id"))


def _row(rank: int, summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"rank": rank, **{key: summary.get(key) for key in (
        "index", "line", "proposal_id", "title", "overall_score", "rating", "recommendation",
        "scores", "deficiencies", "capability_area", "total_cost_jpy", "decision_id")}}


def _ranked_summaries(store: BatchStore, batch_id: str, indexes: Sequence[int], first: int
                      ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, summary) of ranked ``indexes`` whose first is at ``first``, a page of the
    store at a time."""
    for offset in range(0, len(indexes), SUMMARY_PAGE):
        chunk = indexes[offset:offset + SUMMARY_PAGE]
        for position, summary in enumerate(store.summaries(batch_id, chunk), first + offset):
            if summary is not None:
                yield position, summary


@blp.route("/<string:batch_id>/rows")
class BatchRows(MethodView):
    @blp.arguments(RowsQuerySchema, location="query")
    @blp.response(200, RowsPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, query: dict[str, Any], batch_id: str) -> Any:
        """The scored rows of a batch, ranked by the overall score or a criterion, optionally
        filtered by rating, recommendation or capability area and searched by title."""
        meta = _meta(batch_id)
        criteria = json.loads(meta.get("criteria") or "[]")
        sort, reverse = query["sort"], query["order"] == "asc"
        if sort != OVERALL and sort not in criteria:
            allowed = ", ".join([OVERALL, *criteria])
            raise Problem(422, f"Cannot sort by {sort!r}; use one of {allowed}.",
                          slug="invalid-parameter",
                          errors=[{"field": "sort", "location": "query",
                                   "message": f"Must be one of: {allowed}."}])
        store = _store()
        scored, _ = store.counts(batch_id)
        size = query["page_size"]
        start = (query["page"] - 1) * size
        if any(name in query for name in (*FILTERS, "q")):
            ranked = store.ranked(batch_id, sort, 0, scored - 1, reverse) if scored else []
            found = [(p, s) for p, s in _ranked_summaries(store, batch_id, ranked, 0)
                     if _matches(s, query)]
            total, page = len(found), found[start:start + size]
        else:
            ranked = store.ranked(batch_id, sort, start, start + size - 1, reverse)
            total, page = scored, list(_ranked_summaries(store, batch_id, ranked, start))
        status = describe(batch_id, meta)["status"]
        return {"batch_id": batch_id, "status": status, "complete": status == "done",
                "ruleset": _ruleset(meta), "criteria": criteria, "sort": sort,
                "order": query["order"], "page": query["page"], "page_size": size,
                "scored": scored, "total": total, "pages": math.ceil(total / size),
                "items": [_row(scored - p if reverse else p + 1, s) for p, s in page]}


@blp.route("/<string:batch_id>/items/<int:index>")
class BatchItem(MethodView):
    @blp.response(200, BatchItemSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, batch_id: str, index: int) -> Any:
        """The evaluation of one item, by its position in the upload (from 0)."""
        meta = _meta(batch_id)
        summary, = _store().summaries(batch_id, [index])
        result, = worded(batch_id, meta, [index])
        if summary is None or result is None:
            raise Problem(404, f"Item {index} of batch {batch_id} has no evaluation: it is not "
                               "scored yet, it failed (see the batch's failures), or the upload "
                               "has no such item.")
        return {"index": index, "line": summary["line"], "proposal_id": summary["proposal_id"],
                "title": summary["title"], "evaluation": orjson.loads(result)}
