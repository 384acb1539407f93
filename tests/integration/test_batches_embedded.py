"""Batches in embedded mode (no Redis): the same intake, chunk task and scoring, on the
in-memory queue and store; and ``policy-eval score`` locally (``test_batches`` runs it
against the Redis stack and compares the two output files)."""

from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from bench import synthetic
from bench.synthetic import header_for, proposal_to_row
from service.batch.formats import XLSX_MEDIA_TYPE
from service.cli.main import main
from service.engine import Engine

from .servers import MINI_RULESET

pytestmark = pytest.mark.integration


def wait_done(url: str, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = requests.get(urljoin(url, location), timeout=30).json()
        if status["status"] == "done" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def write_csv(path: Path, items: list[dict[str, Any]]) -> None:
    header = header_for(items)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(proposal_to_row(p, header) for p in items)


def test_embedded_batch_matches_the_engine(embedded_url: str) -> None:
    rng = random.Random(4)
    items: list[Any] = [synthetic.proposal(rng, i) for i in range(300)] + [{"title": 1}]
    response = requests.post(f"{embedded_url}/v1/batches", data=json.dumps(items),
                             headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]

    status = wait_done(embedded_url, location)

    assert (status["done"], status["failed"]) == (300, 1)
    lines = requests.get(urljoin(embedded_url, f"{location}/results"),
                         params={"format": "jsonl"}, timeout=60).text.splitlines()
    engine = Engine.from_path(MINI_RULESET, mode="native")
    for line in map(json.loads, lines[:300]):
        assert line["evaluation"] == json.loads(json.dumps(engine.evaluate(items[line["index"]])))
    assert json.loads(lines[300])["errors"][0]["field"] == "title"


def test_cli_scores_locally_like_the_engine(tmp_path: Path) -> None:
    items = [synthetic.proposal(random.Random(6), i) for i in range(400)]
    source, out = tmp_path / "programmes.csv", tmp_path / "ranked.csv"
    write_csv(source, items)

    status = main(["score", str(source), "-o", str(out), "--workers", "2", "--ruleset",
                   str(MINI_RULESET), "--portfolio", "envelopes"])

    assert status == 0
    rows = list(csv.DictReader(out.open()))
    engine = Engine.from_path(MINI_RULESET, mode="native")
    assert [int(r["rank"]) for r in rows] == list(range(1, 401))
    for row in rows:
        expected = engine.evaluate(items[int(row["index"])])
        assert (float(row["overall_score"]), row["decision_id"]) == (
            expected["overall_score"], expected["decision_id"])


def test_cli_reports_bad_items_with_exit_status_1(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_text(json.dumps(synthetic.proposal(random.Random(1), 0)) + "\n{oops\n")
    out = tmp_path / "out.jsonl"

    assert main(["score", str(source), "-o", str(out), "--ruleset", str(MINI_RULESET),
                 "--workers", "1"]) == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["done", "invalid"]
    assert lines[1]["line"] == 2 and "item 1 (line 2)" in capsys.readouterr().out


def test_spreadsheets_and_semicolon_csv_score_as_the_comma_csv(embedded_url: str,
                                                               tmp_path: Path) -> None:
    items = [synthetic.proposal(random.Random(8), i) for i in range(120)]
    comma, semicolon, sheet = (tmp_path / "p.csv", tmp_path / "semicolon.csv",
                               tmp_path / "p.xlsx")
    synthetic.write(comma, items)
    synthetic.write(sheet, items)
    with comma.open(newline="") as source, semicolon.open("w", newline="") as out:
        csv.writer(out, delimiter=";").writerows(csv.reader(source))

    def ranked(response: requests.Response) -> str:
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        assert wait_done(embedded_url, location)["done"] == len(items)
        return requests.get(urljoin(embedded_url, f"{location}/results"),
                            params={"format": "csv"}, timeout=60).text

    batches = f"{embedded_url}/v1/batches"
    expected = ranked(requests.post(batches, data=comma.read_bytes(),
                                    headers={"Content-Type": "text/csv"}, timeout=60))
    uploads = [
        requests.post(batches, data=sheet.read_bytes(), timeout=60,
                      headers={"Content-Type": XLSX_MEDIA_TYPE}),
        requests.post(batches, timeout=60, files={"file": (
            "programmes.xlsx", sheet.read_bytes(), "application/octet-stream")}),
        requests.post(batches, timeout=60, files={"file": (
            "programmes.csv", semicolon.read_bytes(), "text/csv")}),
    ]
    assert [ranked(response) for response in uploads] == [expected] * 3
    assert len(expected.splitlines()) == len(items) + 1

    downloaded = tmp_path / "ranked.csv"
    assert main(["score", str(sheet), "--url", embedded_url, "-o", str(downloaded)]) == 0
    assert downloaded.read_bytes().decode() == expected


def test_an_unreadable_spreadsheet_is_refused_with_its_reason(embedded_url: str) -> None:
    response = requests.post(f"{embedded_url}/v1/batches", data=b"id;title\nx;y\n",
                             headers={"Content-Type": XLSX_MEDIA_TYPE}, timeout=60)
    assert response.status_code == 400
    assert "not an .xlsx spreadsheet" in response.json()["detail"]
    mixed = requests.post(f"{embedded_url}/v1/batches", data=b"id;title,fiscal_year\nx;y,1\n",
                          headers={"Content-Type": "text/csv"}, timeout=60)
    assert mixed.status_code == 400 and mixed.json()["line"] == 1
    assert "the header looks semicolon-separated" in mixed.json()["detail"]
