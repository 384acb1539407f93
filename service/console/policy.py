"""The Content-Security-Policy of the console's pages and assets, and of ``/docs``.

Scripts, styles, images and requests come from this origin only: no inline script or style, no
plugin, no framing, no other host. Images may also be ``blob:`` URLs the page made itself: the
robustness charts are SVG documents the API serves to their owner only, so the page fetches
them with the key and shows what it fetched (an SVG shown as an image runs nothing). The API's
own responses keep their stricter policy (``service.api.hardening``).
"""

from __future__ import annotations

from flask import Response

_POLICY = ("default-src 'self'; img-src 'self' {images}; object-src 'none'; base-uri 'self'; "
           "form-action 'self'; frame-ancestors 'none'")
PAGE_CSP = _POLICY.format(images="blob:")
# Swagger UI's style sheet draws its icons as data: images; nothing else is allowed beyond
# the console's policy
DOCS_CSP = _POLICY.format(images="data:")


def apply(response: Response, policy: str = PAGE_CSP) -> Response:
    response.headers["Content-Security-Policy"] = policy
    return response
