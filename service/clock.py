"""Time as the service writes it: UTC, ISO 8601, to the millisecond.

One function, so that every timestamp a client reads (evaluations, batches, ruleset versions,
decisions) has the same form and can be compared as text.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """Now, as ``2026-11-30T20:38:56.123+00:00``."""
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    """``moment`` in the one form (a naive time is taken as UTC, as Celery records them)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat(timespec="milliseconds")
