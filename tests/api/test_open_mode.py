"""Embedded mode without keys: one anonymous caller (an admin), said once at start; the
permission table still refuses what it does not list; Retry-After is the polling hint."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import Flask

from service.api import close_app, create_app
from service.api.auth import AUTH_OFF
from service.config import Settings
from tests.api.test_permissions import MINI, ROOT, refused_to_everyone
from tests.integration.proposals import TOMAHAWK


@pytest.fixture(scope="module")
def open_app() -> Iterator[Flask]:
    app = create_app(Settings(redis_url=None, ruleset=MINI))
    yield app
    close_app(app)


def test_a_route_without_a_permission_is_refused_even_without_keys(open_app: Flask) -> None:
    refused_to_everyone(open_app)


def test_everything_listed_is_open_to_the_one_anonymous_caller(open_app: Flask) -> None:
    client = open_app.test_client()
    assert client.get("/v1/decisions").status_code == 200
    created = client.post("/v1/evaluations", json=TOMAHAWK)
    assert created.status_code == 200
    assert client.get(f"/v1/evaluations/{created.json['id']}").status_code == 200


def test_retry_after_on_a_202_is_the_polling_hint(open_app: Flask) -> None:
    response = open_app.test_client().post("/v1/evaluations", json=TOMAHAWK,
                                           headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "1"


def test_authentication_off_is_said_once_at_start() -> None:
    """As `policy-eval serve` starts (text logs on stderr): once, not once per channel."""
    code = ("from service.observability import logs; logs.configure('text'); "
            "from service.api import create_app, close_app; from service.config import "
            f"Settings; app = create_app(Settings(ruleset={str(MINI)!r})); close_app(app)")
    started = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, check=True)
    assert (started.stdout + started.stderr).count("AUTHENTICATION IS OFF") == 1, started.stderr
    assert AUTH_OFF in started.stderr
