"""Who may call what, held against the code: every route × method Flask serves has a decision
in ``service.api.permissions``, anything else is refused to everyone, HEAD and OPTIONS follow
the methods they mirror, requests without a valid key are limited per address, and the
README's table is the one the code generates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from service.api import close_app, create_app, permissions
from service.config import Settings
from tests.keys import API_KEYS, OTHER_EVALUATOR, bearer

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini" / "ruleset.yaml"
DERIVED = set(permissions.DERIVED_METHODS)


@pytest.fixture(scope="module")
def keyed() -> Iterator[Flask]:
    """Embedded (memory storage for the limiter), with keys, and CORS for one origin."""
    app = create_app(Settings(redis_url=None, ruleset=MINI, api_keys=API_KEYS,
                              rate_limit="5/minute", cors_origins=("https://console.test",)))
    yield app
    close_app(app)


def _served(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods or () if method not in DERIVED}


def test_every_route_and_method_served_has_a_permission(keyed: Flask) -> None:
    """Fails the day a route (or a method on one) is added without a decision on who may
    call it: add it to service.api.permissions.PERMISSIONS."""
    missing = sorted(_served(keyed) - set(permissions.PERMISSIONS))
    assert missing == [], f"no permission for {missing}"


def test_every_permission_names_a_route_and_method_served(keyed: Flask) -> None:
    stale = sorted(set(permissions.PERMISSIONS) - _served(keyed))
    assert stale == [], f"permissions for what is not served: {stale}"


def refused_to_everyone(app: Flask) -> None:
    """A route added without a permission (under /v1 or not) is refused, admins included."""
    app.add_url_rule("/v1/unlisted", "unlisted", lambda: "secret", methods=["GET", "POST"])
    app.add_url_rule("/unlisted", "unlisted-outside", lambda: "secret")
    client = app.test_client()
    for path in ("/v1/unlisted", "/unlisted"):
        for method in ("GET", "POST", "HEAD") if path == "/v1/unlisted" else ("GET",):
            response = client.open(path, method=method, headers=bearer("admin"))
            assert response.status_code == 403, (path, method)
            assert b"secret" not in response.data
            if method != "HEAD":
                assert response.mimetype == "application/problem+json"
                assert "open to no role" in response.json["detail"]


def test_a_route_without_a_permission_is_refused_to_everyone(keyed: Flask) -> None:
    refused_to_everyone(keyed)


def test_head_needs_what_get_needs(keyed: Flask) -> None:
    """HEAD runs the GET view: it must not tell an evaluator how large the admins' log is."""
    client = keyed.test_client()
    for role, status in (("evaluator", 403), ("analyst", 403), ("admin", 200)):
        head = client.head("/v1/decisions?caller=evaluator", headers=bearer(role))
        assert head.status_code == status, role
    assert client.head("/v1/decisions").status_code == 401
    for (method, rule), role in permissions.PERMISSIONS.items():
        if method == "GET":
            assert permissions.required_role("HEAD", rule, rule) == role


def test_options_needs_the_least_role_of_its_route(keyed: Flask) -> None:
    client = keyed.test_client()
    assert client.options("/v1/decisions", headers=bearer("evaluator")).status_code == 403
    assert client.options("/v1/decisions", headers=bearer("admin")).status_code == 200
    assert client.options("/v1/evaluations").status_code == 401
    allowed = client.options("/v1/evaluations", headers=bearer("evaluator"))
    assert allowed.status_code == 200 and "POST" in allowed.headers["Allow"]


def test_a_cors_preflight_needs_no_key_and_reveals_only_the_methods(keyed: Flask) -> None:
    """Browsers send preflights without credentials (Fetch standard)."""
    client = keyed.test_client()
    preflight = client.options("/v1/evaluations", headers={
        "Origin": "https://console.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://console.test"
    assert preflight.data == b""
    # a method the route does not have is no preflight of it
    wrong = client.options("/v1/evaluations", headers={
        "Origin": "https://console.test", "Access-Control-Request-Method": "DELETE"})
    assert wrong.status_code == 401


def test_an_unknown_path_under_v1_needs_a_key_before_it_is_404(keyed: Flask) -> None:
    client = keyed.test_client()
    assert client.get("/v1/no-such-thing").status_code == 401
    assert client.get("/v1/no-such-thing", headers=bearer("evaluator")).status_code == 404
    assert client.get("/no-such-thing").status_code == 404


def test_requests_without_a_valid_key_are_limited_per_address(keyed: Flask) -> None:
    client = keyed.test_client()
    here = {"REMOTE_ADDR": "192.0.2.7"}
    statuses = [client.get("/v1/rulesets", environ_base=here,
                           headers={"Authorization": f"Bearer wrong-{i}"}).status_code
                for i in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    limited = client.get("/v1/rulesets", environ_base=here)  # no key at all: the same count
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "application/problem+json"
    # another address, and a valid key from this one, are not held back by it
    assert client.get("/v1/rulesets", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 401
    ok = client.get("/v1/rulesets", environ_base=here, headers=bearer("evaluator"))
    assert ok.status_code == 200
    assert client.get("/healthz", environ_base=here).status_code == 200  # public: not counted


def test_retry_after_on_a_202_is_the_polling_hint_the_limiter_keeps_to_its_own(
        keyed: Flask) -> None:
    """It used to be the limiter's window reset (49, 45, 41…), not when to poll."""
    from tests.integration.proposals import TOMAHAWK

    response = keyed.test_client().post("/v1/evaluations", json=TOMAHAWK, headers={
        "Prefer": "respond-async", **bearer(OTHER_EVALUATOR)})
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "1"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
            "X-RateLimit-Retry-After"} <= set(response.headers.keys())


def test_the_openapi_document_states_the_table(keyed: Flask) -> None:
    document = keyed.test_client().get("/openapi.json").json
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # shared by the path's operations
                continue
            role = permissions.role_for_operation(method, path)
            assert role is not None, (method, path)
            public = role == permissions.PUBLIC
            assert (operation.get("security") == []) == public, (method, path)
            assert ("401" in operation["responses"]) != public, (method, path)
            # a job's kind needs its own role: a job route may refuse even the lowest
            refuses = role not in (permissions.PUBLIC, permissions.ROLES[0]) or path in {
                permissions.openapi_path(route) for route in permissions.JOB_ROUTES}
            assert ("403" in operation["responses"]) == refuses, (method, path)


def test_the_readme_shows_the_table_the_code_generates() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Security", 1)[1]
    table = re.search(r"^\| method \| route \|.*?(?=\n\n)", section, re.MULTILINE | re.DOTALL)
    assert table is not None, "README's Security section has no role table"
    assert table.group(0) == permissions.markdown_table(), (
        "regenerate it: python -m service.api.permissions")
