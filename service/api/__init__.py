"""The HTTP API: a thin Flask shell that validates, enqueues, waits or answers 202, and
serializes."""

from service.api.app import close_app, create_app

__all__ = ["close_app", "create_app"]
