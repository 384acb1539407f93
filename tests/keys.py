"""API keys the tests use: one per role. The service only ever sees their SHA-256."""

from __future__ import annotations

from service.api.auth import digest

KEYS = {role: f"test-{role}-key-0123456789abcdef0123456789" for role in
        ("evaluator", "analyst", "admin")}
API_KEYS = ",".join(f"{role}:{role}:{digest(key)}" for role, key in KEYS.items())


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


ADMIN = bearer("admin")
