"""The analyst console: server-rendered pages at ``/console`` that call ``/v1`` from the
browser, as any client does, with the same keys and roles; and ``/docs`` (Swagger UI).

The pages are HTML shells (landmarks, labels, forms, empty regions); a few small ES modules in
``static/js`` fetch from ``/v1`` and fill them. Nothing shown is computed in the browser: it
formats what the API answers. Data is never rendered on the server, because the API key lives
in the browser (``sessionStorage``, sent as ``Authorization: Bearer``) and pages are fetched
without it. Every script, style sheet and font is served from this package (``static/vendor``
lists where each came from): the console and ``/docs`` work without internet, and their
Content-Security-Policy allows nothing but this origin.
"""

from flask import Flask

from service.console import apidocs, views


def install(app: Flask) -> None:
    app.register_blueprint(views.blp)
    app.register_blueprint(apidocs.blp)
