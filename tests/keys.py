"""API keys the tests use: one per role, and a second evaluator and analyst (what one caller
creates, another of the same role must not see). The service only ever sees their SHA-256."""

from __future__ import annotations

from service.api.auth import digest

OTHER_EVALUATOR, OTHER_ANALYST = "evaluator-b", "analyst-b"
# key name -> its role; each name is also the caller that owns what its key creates
ROLE_OF = {"evaluator": "evaluator", "analyst": "analyst", "admin": "admin",
           OTHER_EVALUATOR: "evaluator", OTHER_ANALYST: "analyst"}
KEYS = {name: f"test-{name}-key-0123456789abcdef0123456789" for name in ROLE_OF}
API_KEYS = ",".join(f"{name}:{ROLE_OF[name]}:{digest(key)}" for name, key in KEYS.items())


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


ADMIN = bearer("admin")
