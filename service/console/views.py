"""The console's pages: one template each, filled in the browser from ``/v1``."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from service.console import policy

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                static_folder="static")
blp.after_request(policy.apply)  # its pages and its static files

# (endpoint, label) of the navigation, in its order
NAVIGATION = (("console.evaluate", "Evaluate"), ("console.compare", "Compare"),
              ("console.batches", "Batches"), ("console.rules", "Rules"))


@blp.app_context_processor
def navigation() -> dict[str, object]:
    return {"navigation": NAVIGATION}


@blp.get("/")
def home() -> Response:
    return redirect(url_for("console.evaluate"))


@blp.get("/evaluate")
def evaluate() -> str:
    return render_template("console/evaluate.html", section="console.evaluate")


@blp.get("/compare")
def compare() -> str:
    return render_template("console/compare.html", section="console.compare")


@blp.get("/batches")
def batches() -> str:
    return render_template("console/batches.html", section="console.batches", batch_id="")


@blp.get("/batches/<string:batch_id>")
def batch(batch_id: str) -> str:
    return render_template("console/batches.html", section="console.batches",
                           batch_id=batch_id)


@blp.get("/rules")
def rules() -> str:
    return render_template("console/rules.html", section="console.rules")


@blp.get("/reports/evaluations/<string:evaluation_id>")
def evaluation_report(evaluation_id: str) -> str:
    return render_template("console/report.html", kind="evaluation", subject=evaluation_id)


@blp.get("/reports/portfolios/<string:batch_id>")
def portfolio_report(batch_id: str) -> str:
    return render_template("console/report.html", kind="portfolio", subject=batch_id)
