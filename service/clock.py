"""Time as the service writes it: UTC, ISO 8601, to the millisecond.

One function, so that every timestamp a client reads (evaluations, batches, ruleset versions,
decisions) has the same form and can be compared as text.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """Now, as ``2026-11-30T20:38:56.123+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
