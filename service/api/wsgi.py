"""The WSGI entry point for gunicorn: ``gunicorn 'service.api.wsgi:app'``.

Settings come from the environment. Set ``REDIS_URL``: without it each gunicorn process would
run its own embedded worker and in-memory queue, and a result could only be fetched from the
process that queued it. Embedded mode is for ``policy-eval serve``.
"""

from service.api.app import create_app

app = create_app()
