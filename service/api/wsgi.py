"""The WSGI entry point for gunicorn: ``gunicorn 'service.api.wsgi:app'``.

Settings come from the environment. Set ``REDIS_URL``: without it each gunicorn process would
run its own embedded worker and in-memory queue, and a result could only be fetched from the
process that queued it. Embedded mode is for ``policy-eval serve``.

Production runs it with the settings of ``service.api.gunicorn_conf``: ``gunicorn -c
python:service.api.gunicorn_conf service.api.wsgi:app``.
"""

from service.api.app import create_app
from service.observability import logs

logs.configure("json")  # LOG_FORMAT overrides; a no-op when gunicorn_conf's master set it up
app = create_app()
