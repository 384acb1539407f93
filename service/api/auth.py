"""API keys and roles: who may call what.

Keys are random tokens handed to integrators; the service keeps only their SHA-256 (a token of
256 random bits needs no slow hash: there is nothing to guess). Roles nest: an ``analyst`` may
do what an ``evaluator`` may, an ``admin`` what an ``analyst`` may. One table maps routes to
roles, so a new endpoint under ``/v1`` is protected by default.

With no key configured, embedded mode (the developer's `policy-eval serve`) runs without
authentication and says so loudly; a deployment with Redis refuses to start without keys.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import Flask, g, request

from schemas.vocabulary import ROLES
from service.api.problems import Problem
from service.config import ConfigError, Settings

# (method or "*", path prefix, role needed); the first match decides; no match is public
PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v1/decisions", "admin"),
    ("PUT", "/v1/rulesets/active", "admin"),
    ("POST", "/v1/rulesets", "analyst"),  # publishing, and the impact of a version
    ("*", "/v1/", "evaluator"),
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


ANONYMOUS = Caller("anonymous", "admin")  # authentication off: the embedded dev default


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _caller(name: str, role: str, where: str) -> Caller:
    if role not in ROLES:
        raise ConfigError(f"{where}: role {role!r} of key {name!r} is not one of "
                          f"{', '.join(ROLES)}")
    return Caller(name, role)


def parse_keys(text: str) -> dict[str, Caller]:
    """``name:role:sha256hex`` entries, separated by commas or blanks (the ``API_KEYS`` form)."""
    keys = {}
    for entry in text.replace(",", " ").split():
        name, role, hashed = [*entry.split(":"), "", ""][:3]
        if len(hashed) != 64:
            raise ConfigError(f"API_KEYS: {entry!r} is not name:role:sha256 (64 hex digits)")
        keys[hashed.lower()] = _caller(name, role, "API_KEYS")
    return keys


def read_key_file(path: Path) -> dict[str, Caller]:
    """A YAML list of ``{name, role, sha256}`` (the ``API_KEYS_FILE`` form)."""
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"API_KEYS_FILE {path}: {error}") from None
    return {str(e["sha256"]).lower(): _caller(str(e["name"]), str(e["role"]), str(path))
            for e in entries}


def required_role(method: str, path: str) -> str | None:
    for allowed, prefix, role in PERMISSIONS:
        if allowed in ("*", method) and path.startswith(prefix):
            return role
    return None


def current_caller() -> Caller:
    caller: Caller = g.get("caller", ANONYMOUS)
    return caller


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def install(app: Flask, settings: Settings) -> None:
    """Authenticate every request that needs a role; refuse to run unprotected with Redis."""
    keys = parse_keys(settings.api_keys)
    if settings.api_keys_file is not None:
        keys.update(read_key_file(settings.api_keys_file))
    if not keys and not settings.embedded:
        raise ConfigError("API keys are required when the service runs with Redis: set "
                          "API_KEYS or API_KEYS_FILE (`policy-eval keys new` makes one)")
    if not keys:
        warning = ("AUTHENTICATION IS OFF: embedded development mode with no API keys; every "
                   "caller is admin. Set API_KEYS or API_KEYS_FILE before exposing this server.")
        log.warning(warning)
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)

    @app.before_request
    def authenticate() -> None:
        role = required_role(request.method, request.path)
        if role is None or not keys:
            return
        presented = _presented_key()
        caller = keys.get(digest(presented)) if presented else None
        if caller is None:
            raise Problem(401, "Send a valid API key: `Authorization: Bearer <key>`.",
                          headers={"WWW-Authenticate": 'Bearer realm="policy-eval"'})
        if ROLES.index(caller.role) < ROLES.index(role):
            raise Problem(403, f"Key {caller.name!r} has the role {caller.role}; "
                               f"{request.method} {request.path} needs {role}.")
        g.caller = caller
