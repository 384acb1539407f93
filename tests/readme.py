"""The README's shell commands, read from the README and run as a reader would run them.

A section's ```bash blocks are split into commands (a line ending in ``\\`` goes on); each runs
in bash from a scratch copy of the repository's ``rules/`` and ``examples/``, with the
virtualenv the tests run in as ``.venv`` and ``policy-eval`` and ``python`` being this
checkout's. Only what a reader must substitute is substituted: the service's address
(``localhost:8000`` is whichever port the test's server got), a placeholder the README spells
as ``<…>`` or ``6f1c…``, and the Redis URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ADDRESSES = ("localhost:8000", "127.0.0.1:8000")


def sections() -> dict[str, str]:
    """Each heading's text up to the next heading of any level (headings inside code blocks,
    such as shell comments, are not headings)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    fenced = False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#+ ", line):
            current = found.setdefault(line.lstrip("#").strip(), [])
            continue
        current.append(line)
    return {title: "\n".join(lines) for title, lines in found.items()}


def section(title: str) -> str:
    return sections()[title]


def commands(title: str) -> list[str]:
    """Every command of the section's bash blocks, in order; comment lines left out."""
    found: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", section(title), re.S):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            found.append(pending)
            pending = ""
    return found


def scratch(tmp: Path) -> Path:
    """A working copy a reader would have: the rules and examples, and a virtualenv."""
    for folder in ("rules", "examples"):
        shutil.copytree(ROOT / folder, tmp / folder)
    (tmp / ".venv").symlink_to(sys.prefix)
    return tmp


PRELUDE = f"""
policy-eval() {{ "{sys.executable}" -c "from service.cli import run; run()" "$@"; }}
python() {{ "{sys.executable}" "$@"; }}
"""


def shell(script: str, cwd: Path, address: str | None = None, timeout: float = 300,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash as written, the service's address substituted."""
    if address is not None:
        for written in ADDRESSES:
            script = script.replace(written, address)
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environment.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(["bash", "-c", PRELUDE + script], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)
