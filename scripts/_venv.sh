# Sourced by scripts/serve and scripts/test: a virtualenv in .venv with the project installed.
# A stamp of pyproject.toml skips the install when nothing changed since the last run.
set -euo pipefail

pick_python() {
  # durable-rules does not import on 3.13: the default python3 if it fits, else another
  for candidate in python3 python3.12 python3.11 python3.10; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 13))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "no Python 3.10-3.12 found" >&2; return 1
}

ensure_venv() {  # $1: the extras to install, e.g. "[test]" or ""
  local extras="$1"
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  local stamp=".venv/.installed$extras"
  if [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$extras"
    cp pyproject.toml "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}
