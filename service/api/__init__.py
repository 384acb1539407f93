"""The HTTP API: a thin Flask shell that validates, enqueues, waits or answers 202, and
serializes (DESIGN §1)."""

from service.api.app import close_app, create_app

__all__ = ["close_app", "create_app"]
