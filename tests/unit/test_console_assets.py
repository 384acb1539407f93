"""What the console and the reports ship from other projects is what their records say: each
vendored file has the checksum written in its VENDORED.md, every file is listed there, and the
console's own pages and scripts load nothing from another host."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.unit.conftest import ROOT

CONSOLE = ROOT / "service" / "console"
RECORDS = [CONSOLE / "static" / "vendor" / "VENDORED.md",
           ROOT / "service" / "reports" / "fonts" / "VENDORED.md"]
CHECKSUM_ROW = re.compile(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", re.M)


def _recorded(record: Path) -> dict[Path, str]:
    return {record.parent / name: digest for name, digest in CHECKSUM_ROW.findall(
        record.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.parent.name)
def test_vendored_files_are_the_ones_recorded(record: Path) -> None:
    recorded = _recorded(record)
    present = {p for p in record.parent.rglob("*") if p.is_file() and p != record}

    assert set(recorded) == present
    for path, digest in recorded.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name


def test_the_consoles_own_pages_and_scripts_name_no_other_host() -> None:
    own = [*CONSOLE.glob("templates/*/*.html"), *CONSOLE.glob("static/js/*.js"),
           CONSOLE / "static" / "console.css"]

    assert len(own) > 10
    for path in own:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()), path.name
