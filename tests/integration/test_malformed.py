"""Malformed requests: each is answered 4xx ``application/problem+json`` naming what is wrong,
and nothing reaches a worker. Sent to the API under gunicorn (with Redis) and, for the body
checks, to the embedded server too: both must refuse the same way. The adversarial ones (NaN
and Infinity, huge numbers, control characters, surrogates, homoglyphs, bad uploads) are
generated in ``test_hostile_payloads``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.keys import ADMIN

from .checks import fields_named, http, problem
from .proposals import TOMAHAWK, variant

pytestmark = pytest.mark.integration

T = TOMAHAWK
MONEY = {"amount": 1000, "currency": "USD"}


def without(base: dict[str, Any], dotted: str) -> dict[str, Any]:
    proposal = variant(base)
    *parents, leaf = dotted.split(".")
    node = proposal
    for key in parents:
        node = node[key]
    del node[leaf]
    return proposal


# (case id, proposal, the field path the problem must name)
INVALID_PROPOSALS: list[tuple[str, Any, str]] = [
    ("quantity as a string", variant(T, acquisition__quantity="400"), "acquisition.quantity"),
    ("quantity as a decimal", variant(T, acquisition__quantity=4.5), "acquisition.quantity"),
    ("quantity as a boolean", variant(T, acquisition__quantity=True), "acquisition.quantity"),
    ("quantity of zero", variant(T, acquisition__quantity=0), "acquisition.quantity"),
    ("amount as a string", variant(T, acquisition__total_cost={"amount": "2350000000",
                                                               "currency": "USD"}),
     "acquisition.total_cost.amount"),
    ("negative amount", variant(T, acquisition__total_cost={"amount": -1, "currency": "USD"}),
     "acquisition.total_cost.amount"),
    ("fiscal year as a string", variant(T, fiscal_year="2026"), "fiscal_year"),
    ("title as null", variant(T, title=None), "title"),
    ("blank title", variant(T, title="   "), "title"),
    ("unknown field at the top", variant(T, colour="grey"), "colour"),
    ("unknown field in a section", variant(T, system__stealth=True), "system.stealth"),
    ("unknown field two levels down",
     variant(T, acquisition__total_cost={"amount": 1, "currency": "USD", "tax": 0}),
     "acquisition.total_cost.tax"),
    ("missing title", without(T, "title"), "title"),
    ("missing nested required field", without(T, "acquisition.path"), "acquisition.path"),
    ("missing section", without(T, "system"), "system"),
    ("bad category", variant(T, system__category="battleship"), "system.category"),
    ("bad currency", variant(T, acquisition__total_cost={"amount": 1, "currency": "EUR"}),
     "acquisition.total_cost.currency"),
    ("bad datalink in a list", variant(T, capabilities__datalinks=["link16", "smoke"]),
     "capabilities.datalinks.1"),
    ("threats as a string", variant(T, threats_addressed="hypersonic"), "threats_addressed"),
    ("country as a name", variant(T, requesting_country="Japan"), "requesting_country"),
    ("lower-case country in a list", variant(T, partners__operators=["us"]),
     "partners.operators.0"),
    ("both unit and total cost", variant(T, acquisition__unit_cost=MONEY),
     "acquisition.total_cost"),
    ("neither unit nor total cost", without(T, "acquisition.total_cost"),
     "acquisition.total_cost"),
    ("section as a list", variant(T, acquisition=[]), "acquisition"),
    ("array instead of an object", [T], "$"),
    ("string instead of an object", "Tomahawk", "$"),
]


@pytest.mark.parametrize(("proposal", "field"), [(p, f) for _, p, f in INVALID_PROPOSALS],
                         ids=[case for case, _, _ in INVALID_PROPOSALS])
def test_invalid_proposal_is_422_naming_the_field(api_url: str, proposal: Any,
                                                  field: str) -> None:
    response = http.post(f"{api_url}/v1/evaluations", json=proposal, timeout=10)

    body = problem(response, 422)
    assert body["type"] == "/problems/invalid-proposal"
    assert field in fields_named(body), body["errors"]
    assert all(error["message"] for error in body["errors"])


def test_every_bad_field_is_named_at_once(api_url: str) -> None:
    proposal = variant(T, fiscal_year="2026", system__category="battleship",
                       capabilities__datalinks=["link16", "smoke", "fog"])

    body = problem(http.post(f"{api_url}/v1/evaluations", json=proposal, timeout=10), 422)

    assert sorted(fields_named(body)) == [
        "capabilities.datalinks.1", "capabilities.datalinks.2", "fiscal_year",
        "system.category"]


def post_raw(url: str, data: bytes, content_type: str | None = "application/json",
             path: str = "/v1/evaluations") -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return http.post(f"{url}{path}", data=data, headers=headers, timeout=10)


@pytest.mark.parametrize("data", [b'{"title": "Tomahawk",', b"{title: 1}", b'{"title": "\xc3\x28"}',
                                  b"[" * 100_000 + b"]" * 100_000],
                         ids=["truncated", "unquoted key", "not UTF-8", "nested too deeply"])
def test_body_that_is_not_json_is_400(embedded_url: str, api_url: str, data: bytes) -> None:
    for url in (api_url, embedded_url):
        if len(data) > 65536 and url == api_url:
            continue  # over the gunicorn server's body limit: that is the 413 test
        body = problem(post_raw(url, data), 400)
        assert body["type"] == "/problems/invalid-json"
        assert fields_named(body) == ["$"]


def test_truncated_json_says_where(api_url: str) -> None:
    body = problem(post_raw(api_url, b'{"title": "Tomahawk",\n "fiscal_year": }'), 400)
    assert "line 2" in body["detail"]


def test_empty_body_is_400(api_url: str) -> None:
    body = problem(post_raw(api_url, b""), 400)
    assert fields_named(body) == ["$"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_wrong_content_type_is_415(api_url: str, content_type: str | None) -> None:
    body = problem(post_raw(api_url, json.dumps(T).encode(), content_type), 415)
    assert body["errors"] == [{"field": "Content-Type", "location": "header",
                               "message": "Must be application/json."}]


def test_json_with_a_charset_is_accepted(stack: str) -> None:
    response = post_raw(stack, json.dumps(T).encode(), "application/json; charset=utf-8")
    assert response.status_code == 200, response.text


def test_huge_body_is_413(api_url: str) -> None:
    huge = variant(T, title="x" * 200_000)  # over the server's 64 KiB MAX_CONTENT_LENGTH

    body = problem(http.post(f"{api_url}/v1/evaluations", json=huge, timeout=10), 413)

    assert "65536" in body["detail"]
    assert fields_named(body) == ["$"]


def test_bad_explain_parameter_is_422_naming_it(api_url: str) -> None:
    response = http.post(f"{api_url}/v1/evaluations", params={"explain": "verbose"},
                             json=T, timeout=10)

    body = problem(response, 422)
    assert body["errors"] == [{"field": "explain", "location": "query",
                               "message": "Must be one of: summary, full."}]


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/v1/evaluations"),
                                              ("PUT", "/v1/evaluations"),
                                              ("POST", "/v1/rulesets/active"),
                                              ("POST", "/healthz")])
def test_method_not_allowed_is_405_with_allow(api_url: str, method: str, path: str) -> None:
    response = requests.request(method, f"{api_url}{path}", json=T, timeout=10, headers=ADMIN)

    body = problem(response, 405)
    assert method in body["detail"]
    assert response.headers["Allow"]


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/evaluation", "/v2/evaluations",
                                  "/v1/rulesets/latest"])
def test_unknown_path_is_404(api_url: str, path: str) -> None:
    body = problem(http.get(f"{api_url}{path}", timeout=10), 404)
    assert body["instance"] == path


def test_problem_types_are_documented(api_url: str) -> None:
    body = problem(http.post(f"{api_url}/v1/evaluations", json={}, timeout=10), 422)

    described = http.get(f"{api_url}{body['type']}", timeout=10)

    assert described.status_code == 200
    assert described.json()["type"] == body["type"]
    assert described.json()["title"] == body["title"]


@pytest.mark.parametrize(("proposal", "field"),
                         [(p, f) for _, p, f in INVALID_PROPOSALS[::5]],
                         ids=[case for case, _, _ in INVALID_PROPOSALS[::5]])
def test_embedded_server_refuses_the_same_way(embedded_url: str, api_url: str, proposal: Any,
                                              field: str) -> None:
    embedded = http.post(f"{embedded_url}/v1/evaluations", json=proposal, timeout=10)
    redis_backed = http.post(f"{api_url}/v1/evaluations", json=proposal, timeout=10)

    assert problem(embedded, 422)["errors"] == problem(redis_backed, 422)["errors"]
