"""``/v1/decisions``: the decision log, filtered and paged with a cursor (admins only)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.decision import DecisionPageSchema, DecisionQuerySchema
from service.decisions.log import Filters
from service.engine import Explain
from service.registry.engines import EngineCache

blp = Blueprint("decisions", __name__, url_prefix="/v1/decisions",
                description="Every decision made, with its input, result and explanation.")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ms(moment: datetime | None) -> int | None:
    """Milliseconds since 1970, the unit of the log's positions; a time before 1970 is its
    beginning. Subtracting (not ``timestamp()``) also takes year 1 or 9999 in any offset."""
    return None if moment is None else max(0, (moment - EPOCH) // timedelta(milliseconds=1))


@blp.route("")
class Decisions(MethodView):
    # unknown=None: the schema's own RAISE, not webargs' EXCLUDE for queries, so a misspelt
    # filter (`?ratng=good`) is a 422 naming it rather than silently every decision
    @blp.arguments(DecisionQuerySchema, location="query", unknown=None)
    @blp.response(200, DecisionPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Decisions in the order they were made, oldest first.

        Filter by time range, ruleset version, rating and caller; follow `next_cursor` (as
        `cursor`) until it is null to read them all.
        """
        runtime = current_app.extensions["policy_eval"]
        filters = Filters(_ms(query.get("since")), _ms(query.get("until")),
                          query.get("ruleset_version"), query.get("rating"), query.get("caller"))
        page = runtime.backends.decisions.page(filters, query.get("cursor"), query["limit"])
        engines = runtime.backends.engines
        return {"decisions": [worded(entry, engines) for entry in page.entries],
                "next_cursor": page.next_cursor}


def worded(entry: dict[str, Any], engines: EngineCache) -> dict[str, Any]:
    """An entry with its whole result: a batch item is logged as assessed
    (``service.decisions.entry.assessed_entry``) and its result worded here, from its input by
    the version that decided it: the same bytes as when it was decided (the decision id says
    so, and is checked)."""
    if "result" in entry:
        return entry
    explain = cast(Explain, entry["explain"])
    result = engines.engine(entry["ruleset_version"]).reword(entry["input"], explain)
    if result["decision_id"] != entry["decision_id"]:
        raise RuntimeError(f"decision {entry['decision_id']} worded again as "
                           f"{result['decision_id']}: its ruleset or input changed")
    return {**{k: v for k, v in entry.items() if k != "explain"}, "result": result}
