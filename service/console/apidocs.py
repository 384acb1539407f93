"""``/docs``: Swagger UI over ``/openapi.json``, from the copy of swagger-ui-dist in this
package. flask-smorest's own page loads it from a CDN (blank without internet) and starts it
with an inline script, which the pages' Content-Security-Policy forbids; this one starts it
from ``static/js/swagger-init.js``."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template, url_for

from service.console import policy

blp = Blueprint("apidocs", __name__, template_folder="templates")


@blp.get("/docs")
def swagger_ui() -> Response:
    page = render_template("apidocs/swagger.html", spec_url=url_for("api-docs.openapi_json"))
    return policy.apply(make_response(page), policy.DOCS_CSP)
