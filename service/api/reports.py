"""Reports: what an analyst files or signs. A one-page PDF of a finished evaluation, and a
portfolio report (as JSON for a page that prints it, and as a one-page PDF).

A report shows what the API answers for its resource, with the identities that make it
traceable: the ruleset version and hash, and each decision id. The portfolio is the one
``GET /v1/batches/{id}/portfolio`` answers for the same query, produced by that very view, so
its checks, errors and numbers cannot drift from it.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.batch import PortfolioQuerySchema
from schemas.evaluation import EvaluationJobSchema
from schemas.report import PortfolioReportSchema
from service.api import jobs
from service.api.batches import describe
from service.api.problems import Problem
from service.api.runtime import Runtime
from service.batch.store import RECEIVING
from service.registry.store import UnknownVersion
from service.reports import evaluation_pdf, portfolio_pdf

blp = Blueprint("reports", __name__, url_prefix="/v1",
                description="One-page reports of an evaluation and of a portfolio.")

PDF = "application/pdf"
_PDF_RESPONSE = {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}}


def _runtime() -> Runtime:
    found: Runtime = current_app.extensions["policy_eval"]
    return found


def _pdf(content: bytes, name: str) -> Response:
    return current_app.response_class(content, mimetype=PDF, headers={
        "Content-Disposition": f'inline; filename="{name}"'})


@blp.route("/evaluations/<string:evaluation_id>/report.pdf")
class EvaluationReport(MethodView):
    @blp.doc(responses={200: {"description": "The report.", **_PDF_RESPONSE}})
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def get(self, evaluation_id: str) -> Response:
        """A finished evaluation on one page: scores, reasons, the strengths that did not
        apply (with `explain=full`), and its identity (decision id, input hash, ruleset
        version and hash)."""
        job = jobs.lookup(_runtime(), evaluation_id) if len(evaluation_id) <= 64 else None
        if job is None:
            raise Problem(404, f"No evaluation {evaluation_id!r}: never submitted here, or its "
                               "result has expired.")
        if job.status != "done":
            raise Problem(409, f"Evaluation {evaluation_id} is {job.status}; a report needs a "
                               "finished evaluation.", headers={"Retry-After": "1"}
                          if job.status in ("queued", "running") else None)
        body = EvaluationJobSchema().dump(job.as_dict())  # exactly as the API answers it
        return _pdf(evaluation_pdf(body), f"evaluation-{evaluation_id}.pdf")


def portfolio_report(batch_id: str) -> dict[str, Any]:
    """The portfolio of this request's query, with the batch, its ruleset and decision ids."""
    # that view answers with a Response of the portfolio; a problem it raises propagates
    view = current_app.view_functions["batches.BatchPortfolio"]
    portfolio = cast(Response, view(batch_id=batch_id)).get_json()
    store = _runtime().backends.batches
    meta = store.meta(batch_id)
    if meta is None or meta["state"] == RECEIVING:  # expired since: a moment ago it was there
        raise Problem(404, f"No batch {batch_id!r}: never submitted here, or expired.")
    indexes = [e["index"] for e in (*portfolio["chosen"], *portfolio["excluded"])]
    decisions = {str(s["index"]): s["decision_id"]
                 for s in store.summaries(batch_id, indexes) if s is not None}
    try:
        ruleset = _runtime().backends.engines.ruleset(meta["ruleset_version"]).identity
    except (KeyError, UnknownVersion):
        ruleset = None
    return {"batch": describe(batch_id, meta), "ruleset": ruleset, "portfolio": portfolio,
            "decisions": decisions}


@blp.route("/batches/<string:batch_id>/portfolio/report")
class PortfolioReport(MethodView):
    @blp.arguments(PortfolioQuerySchema, location="query")
    @blp.response(200, PortfolioReportSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, _query: dict[str, Any], batch_id: str) -> dict[str, Any]:
        """The portfolio (as `GET …/portfolio` answers it for the same query) with what makes
        it traceable: the batch, the ruleset version and hash, and every decision id."""
        return portfolio_report(batch_id)


@blp.route("/batches/<string:batch_id>/portfolio/report.pdf")
class PortfolioReportPdf(MethodView):
    @blp.arguments(PortfolioQuerySchema, location="query")
    @blp.doc(responses={200: {"description": "The report.", **_PDF_RESPONSE}})
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, _query: dict[str, Any], batch_id: str) -> Response:
        """The portfolio report on one page: spend against each budget, the funded
        proposals with their decision ids, those left out with their reasons."""
        report = PortfolioReportSchema().dump(portfolio_report(batch_id))
        return _pdf(portfolio_pdf(report), f"portfolio-{batch_id}.pdf")
