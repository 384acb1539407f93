"""What a client checks in a response, shared by the test modules."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.keys import ADMIN

PROBLEM = "application/problem+json"


class _Authorized:
    """``requests``' calls with the admin key, unless a call sends its own Authorization:
    most tests are about something other than who may call."""

    @staticmethod
    def _headers(headers: dict[str, str] | None) -> dict[str, str]:
        return {**ADMIN, **(headers or {})}

    def get(self, url: str, headers: dict[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
        return requests.get(url, headers=self._headers(headers), **kwargs)

    def post(self, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        return requests.post(url, headers=self._headers(headers), **kwargs)

    def put(self, url: str, headers: dict[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
        return requests.put(url, headers=self._headers(headers), **kwargs)

    def delete(self, url: str, headers: dict[str, str] | None = None,
               **kwargs: Any) -> requests.Response:
        return requests.delete(url, headers=self._headers(headers), **kwargs)


http = _Authorized()


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    assert "Traceback" not in response.text and "<html" not in response.text.lower()
    return body


def fields_named(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


def clamp(value: float) -> float:
    return min(100.0, max(0.0, value))


def assert_points_add_up(evaluation: dict[str, Any]) -> None:
    """Every point is accounted for by a fired rule, and the scores follow from them."""
    overall = 0.0
    for criterion in evaluation["criteria"]:
        findings = criterion["strengths"] + criterion["weaknesses"] + criterion["deficiencies"]
        points = round(sum(f["points"] for f in findings), 2)  # points have two decimals
        assert criterion["points"] == points, criterion["criterion"]
        assert criterion["score"] == clamp(round(criterion["baseline"] + points, 2)), \
            criterion["criterion"]
        assert all(f["points"] > 0 for f in criterion["strengths"])
        assert all(f["points"] < 0 for f in criterion["weaknesses"])
        for finding in findings:
            assert finding["sentence"] and finding["evidence"]
            assert all(atom["holds"] for atom in finding["evidence"])
        overall += criterion["weight"] * criterion["score"]
    assert evaluation["overall_score"] == round(overall, 2)


def poll(url: str, timeout: float = 30) -> requests.Response:
    """GET ``url`` until it stops answering 202."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(url, timeout=10)
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(min(float(response.headers.get("Retry-After", 1)), 0.1))
