"""The Content-Security-Policy of the console's pages and assets, and of ``/docs``.

Scripts, styles, images and requests come from this origin only: no inline script or style, no
plugin, no framing, no other host. The API's own responses keep their stricter policy
(``service.api.hardening``).
"""

from __future__ import annotations

from flask import Response

PAGE_CSP = ("default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")
# Swagger UI's style sheet draws its icons as data: images; nothing else is allowed beyond
# the console's policy
DOCS_CSP = PAGE_CSP.replace("default-src 'self';", "default-src 'self'; img-src 'self' data:;")


def apply(response: Response, policy: str = PAGE_CSP) -> Response:
    response.headers["Content-Security-Policy"] = policy
    return response
