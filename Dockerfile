# syntax=docker/dockerfile:1
# One image for the API and the workers. Its command runs the API under gunicorn;
# docker-compose.yml runs the workers from the same image with `celery ... worker`.
#
#   docker build -t procurement-policy-eval .
#   docker run -e REDIS_URL=... -e API_KEYS=... -p 8000:8000 procurement-policy-eval
#
# Two stages: durable-rules ships no wheels and compiles its C core with gcc, which stays in the
# builder. The runtime stage gets the virtualenv and the rules only, and runs as a non-root user.
# Every setting is an environment variable (README, "Settings"); the defaults below suit a
# container.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
# The pinned dependencies first, from pyproject.toml alone, so that editing the source does not
# recompile durable-rules.
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"
COPY README.md ./
COPY schemas ./schemas
COPY service ./service
RUN pip install --no-deps . \
 && python -c "import durable.lang, service.worker.app, service.api.gunicorn_conf"

FROM ${PYTHON_IMAGE} AS base
ARG UID=10001
RUN groupadd --system --gid ${UID} policy \
 && useradd --system --uid ${UID} --gid policy --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin policy \
 && mkdir -p /var/lib/policy-eval/metrics \
 && chown -R policy:policy /var/lib/policy-eval
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# The rules are read-only data for the service: owned by root, readable by all. The examples
# beside them are what the rule tests and the console's "pick an example" read.
COPY rules ./rules
COPY examples ./examples
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    POLICY_RULESET=/app/rules/japan-fy2026-2.yaml \
    PROMETHEUS_MULTIPROC_DIR=/var/lib/policy-eval/metrics \
    LOG_FORMAT=json

# Flower, for docker-compose.yml's `monitoring` profile: the service image plus the pinned
# `monitoring` extra of pyproject.toml, so the service image itself stays without it.
FROM base AS flower
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import subprocess, sys, tomllib; \
extra = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['optional-dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--no-cache-dir', \
                       *extra['monitoring']])" \
 && rm /tmp/pyproject.toml
USER policy
EXPOSE 5555
CMD ["celery", "-A", "service.worker.app", "flower", "--port=5555"]

# The service image, and the default target (the last stage).
FROM base AS runtime
USER policy
EXPOSE 8000
# Liveness of the API; compose gives the worker service a check of its own.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD ["python", "-c", "import os, urllib.request; port = (os.environ.get('API_BIND') or ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=3)"]
CMD ["gunicorn", "-c", "python:service.api.gunicorn_conf", "service.api.wsgi:app"]
