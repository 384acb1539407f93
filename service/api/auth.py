"""API keys: who is calling, and whether ``service.api.permissions`` lets them.

Keys are random tokens handed to integrators; the service keeps only their SHA-256 (a token of
256 random bits needs no slow hash: there is nothing to guess). Each key has a name (the
caller, who owns what it creates) and a role.

With no key configured, embedded mode (the developer's `policy-eval serve`) runs without
authentication: every request is one anonymous caller with the admin role, and the service
says so at start. A deployment with Redis refuses to start without keys.

A request without a valid key is counted against its address (``RATE_LIMIT``, in the limiter's
storage): past the limit it is 429, not 401, so keys cannot be tried at full speed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit

from service.api.permissions import PUBLIC, ROLES, allows, required_role
from service.api.problems import Problem
from service.config import ConfigError, Settings

log = logging.getLogger(__name__)
AUTH_OFF = ("AUTHENTICATION IS OFF: embedded development mode with no API keys; every "
            "caller is one anonymous admin. Set API_KEYS or API_KEYS_FILE before exposing "
            "this server.")
UNAUTHENTICATED = "unauthenticated"  # the limiter's namespace for requests without a valid key


@dataclass(frozen=True)
class Caller:
    name: str
    role: str

    def may_see(self, owner: str | None) -> bool:
        """Whether this caller may see what ``owner`` created: its own, or anyone's for an
        admin. Whatever it may not see is answered as if it did not exist (404)."""
        return self.role == ROLES[-1] or owner == self.name


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


def current_caller() -> Caller:
    caller: Caller = g.get("caller", ANONYMOUS)
    return caller


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def _preflight(rule: str | None) -> bool:
    """A CORS preflight for a method the route has: browsers send it without credentials
    (the Fetch standard forbids them), and it reveals only what /openapi.json publishes."""
    asked = request.headers.get("Access-Control-Request-Method", "").upper()
    return (rule is not None and request.method == "OPTIONS" and "Origin" in request.headers
            and required_role(asked, rule, request.path) is not None)


def install(app: Flask, settings: Settings, limiter: Limiter) -> None:
    """Authenticate every request its route needs a key for; refuse to run unprotected with
    Redis. Install before the limiter's own hook: that one counts per authenticated key."""
    keys = parse_keys(settings.api_keys)
    if settings.api_keys_file is not None:
        keys.update(read_key_file(settings.api_keys_file))
    if not keys and not settings.embedded:
        raise ConfigError("API keys are required when the service runs with Redis: set "
                          "API_KEYS or API_KEYS_FILE (`policy-eval keys new` makes one)")
    if not keys:
        log.warning(AUTH_OFF)
    failures = parse_limit(settings.rate_limit)

    def refuse_unauthenticated() -> Problem:
        """401, or 429 once this address has sent too many requests without a valid key."""
        address = get_remote_address()
        try:
            allowed = limiter.limiter.hit(failures, UNAUTHENTICATED, address)
            reset = limiter.limiter.get_window_stats(failures, UNAUTHENTICATED, address).reset_time
        except Exception as error:  # the storage (Redis) away: the broker check says 503
            log.warning("cannot count requests without a key: %s", type(error).__name__)
            allowed, reset = True, 0.0
        if not allowed:
            wait = max(1, int(reset - time.time()) + 1)
            return Problem(429, f"Too many requests without a valid API key from this address; "
                                f"retry after {wait} s.", headers={"Retry-After": str(wait)})
        return Problem(401, "Send a valid API key: `Authorization: Bearer <key>`.",
                       headers={"WWW-Authenticate": 'Bearer realm="policy-eval"'})

    @app.before_request
    def authenticate() -> None:
        rule = request.url_rule.rule if request.url_rule is not None else None
        role = required_role(request.method, rule, request.path)
        if role == PUBLIC or _preflight(rule):
            return
        if keys:
            presented = _presented_key()
            caller = keys.get(digest(presented)) if presented else None
            if caller is None:
                raise refuse_unauthenticated()
            g.caller = caller
        caller = current_caller()
        if role is None:
            raise Problem(403, f"{request.method} {request.path} is open to no role.")
        if not allows(caller.role, role):
            raise Problem(403, f"Key {caller.name!r} has the role {caller.role}; "
                               f"{request.method} {request.path} needs {role}.")
