"""Who may call what: one table of route × method → the least role, and nothing else allowed.

Deny by default. Every route Flask serves is named here with each of its methods, either with
the least role that may call it (roles nest: an ``analyst`` may do what an ``evaluator`` may,
an ``admin`` what an ``analyst`` may) or as ``PUBLIC`` (probes, the metrics scrape, the API's
documents). A route × method missing from the table is refused to every caller, admins
included; a test walks Flask's URL map and fails on each one missing, so a new endpoint cannot
ship without a decision here. ``HEAD`` is answered by the ``GET`` view, so it needs what
``GET`` needs; ``OPTIONS`` needs the least role of its route (see ``required_role``).

``OWN`` marks the routes whose resource belongs to the caller who created it: another caller's
id is answered exactly as an unknown id (404), and only ``admin`` reads every caller's.

An analysis job's routes (``/v1/jobs/…``) are open to the least role that can start a job of
some kind; each job then needs what starting its kind needs (``job_role``): an evaluator polls
the robustness of a batch of its own, not an analyst's impact job it could not have started.

``python -m service.api.permissions`` prints the table the README's "Security" section holds.
"""

from __future__ import annotations

import re

from schemas.vocabulary import ROLES

PUBLIC = "public"  # anyone, without a key

# (method, Flask URL rule) -> the least role allowed, or PUBLIC
PERMISSIONS: dict[tuple[str, str], str] = {
    ("POST", "/v1/evaluations"): "evaluator",
    ("GET", "/v1/evaluations/<string:evaluation_id>"): "evaluator",
    ("POST", "/v1/evaluations/<string:evaluation_id>/what-if"): "evaluator",
    ("POST", "/v1/comparisons"): "evaluator",
    ("POST", "/v1/batches"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>"): "evaluator",
    ("DELETE", "/v1/batches/<string:batch_id>"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/results"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/failures"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/portfolio"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/rows"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/items/<int:index>"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/portfolio/report"): "evaluator",
    ("GET", "/v1/batches/<string:batch_id>/portfolio/report.pdf"): "evaluator",
    ("GET", "/v1/evaluations/<string:evaluation_id>/report.pdf"): "evaluator",
    ("GET", "/v1/caller"): "evaluator",
    ("GET", "/v1/examples"): "evaluator",
    ("GET", "/v1/fields"): "evaluator",
    ("GET", "/v1/rulesets/<string:version>/rules"): "evaluator",
    ("POST", "/v1/rulesets/check"): "analyst",
    ("POST", "/v1/rulesets/<string:version>/check"): "analyst",
    ("POST", "/v1/rulesets/<string:version>/tests"): "analyst",
    ("POST", "/v1/rulesets/<string:version>/diff"): "analyst",
    ("GET", "/v1/rulesets"): "evaluator",
    ("GET", "/v1/rulesets/active"): "evaluator",
    ("GET", "/v1/rulesets/<string:version>"): "evaluator",
    ("POST", "/v1/rulesets"): "analyst",
    ("POST", "/v1/rulesets/<string:version>/impact"): "analyst",
    ("POST", "/v1/batches/<string:batch_id>/robustness"): "evaluator",
    ("PUT", "/v1/rulesets/active"): "admin",
    ("GET", "/v1/decisions"): "admin",
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/problems/<string:slug>"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,  # Flask's own; nothing is served from it
    # the console's pages and assets hold no data: they call /v1 with the analyst's own key
    ("GET", "/console/"): PUBLIC,
    ("GET", "/console/evaluate"): PUBLIC,
    ("GET", "/console/compare"): PUBLIC,
    ("GET", "/console/batches"): PUBLIC,
    ("GET", "/console/batches/<string:batch_id>"): PUBLIC,
    ("GET", "/console/rules"): PUBLIC,
    ("GET", "/console/reports/evaluations/<string:evaluation_id>"): PUBLIC,
    ("GET", "/console/reports/portfolios/<string:batch_id>"): PUBLIC,
    ("GET", "/console/static/<path:filename>"): PUBLIC,
}
# the route that starts each kind of analysis job (schemas.job.JOB_KINDS)
JOB_STARTS = {
    "impact": ("POST", "/v1/rulesets/<string:version>/impact"),
    "robustness": ("POST", "/v1/batches/<string:batch_id>/robustness"),
}
JOB_ROUTES = ("/v1/jobs/<string:job_id>", "/v1/jobs/<string:job_id>/charts/<string:name>.svg")


def job_role(kind: str) -> str:
    """The least role that may see or cancel a job of ``kind``: the one that may start it."""
    return PERMISSIONS[JOB_STARTS[kind]]


PERMISSIONS.update({
    (method, route): min((job_role(kind) for kind in JOB_STARTS), key=ROLES.index)
    for method, route in (("GET", JOB_ROUTES[0]), ("DELETE", JOB_ROUTES[0]),
                          ("GET", JOB_ROUTES[1]))})
# Routes whose resources belong to their creator (and to admins).
OWN = frozenset({
    "/v1/evaluations/<string:evaluation_id>",
    "/v1/evaluations/<string:evaluation_id>/what-if",
    "/v1/comparisons",
    "/v1/batches/<string:batch_id>",
    "/v1/batches/<string:batch_id>/results",
    "/v1/batches/<string:batch_id>/failures",
    "/v1/batches/<string:batch_id>/portfolio",
    "/v1/batches/<string:batch_id>/rows",
    "/v1/batches/<string:batch_id>/items/<int:index>",
    "/v1/batches/<string:batch_id>/portfolio/report",
    "/v1/batches/<string:batch_id>/portfolio/report.pdf",
    "/v1/evaluations/<string:evaluation_id>/report.pdf",
    "/v1/batches/<string:batch_id>/robustness",
    *JOB_ROUTES,
})
PROTECTED_PREFIX = "/v1/"  # an unmatched path here still needs a key: no route map for strangers
# Methods Flask answers by itself on every route (HEAD with the GET view, OPTIONS with Allow)
DERIVED_METHODS = ("HEAD", "OPTIONS")


def least(roles: list[str]) -> str | None:
    """The weakest of ``roles`` (PUBLIC weakest of all); None for no role."""
    if PUBLIC in roles:
        return PUBLIC
    return min(roles, key=ROLES.index, default=None)


def required_role(method: str, rule: str | None, path: str) -> str | None:
    """The least role that may send ``method`` to the route ``rule`` (the URL rule Flask
    matched, None when none did) at ``path``: a role, ``PUBLIC``, or None when no one may.

    ``HEAD`` needs what ``GET`` needs. ``OPTIONS`` needs the least role among its route's
    methods: it reveals only which methods the route has. An unmatched path under ``/v1/``
    needs a key (an ``evaluator``'s) before it is told 404 or 405.
    """
    if rule is None:
        return ROLES[0] if path.startswith(PROTECTED_PREFIX) else PUBLIC
    if method == "HEAD":
        method = "GET"
    if method == "OPTIONS":
        return least([role for (_, route), role in PERMISSIONS.items() if route == rule])
    return PERMISSIONS.get((method, rule))


def allows(role: str, needed: str) -> bool:
    return needed == PUBLIC or ROLES.index(role) >= ROLES.index(needed)


def openapi_path(rule: str) -> str:
    """``/v1/batches/<string:batch_id>`` as OpenAPI writes it: ``/v1/batches/{batch_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def role_for_operation(method: str, path: str) -> str | None:
    """``required_role`` for an operation of the OpenAPI document (``/v1/batches/{batch_id}``)."""
    by_path = {(m, openapi_path(rule)): role for (m, rule), role in PERMISSIONS.items()}
    return by_path.get((method.upper(), path))


def markdown_table() -> str:
    """Who may call what, as the README's "Security" section shows it."""
    lines = ["| method | route | no key | evaluator | analyst | admin | whose |",
             "|---|---|---|---|---|---|---|"]
    for (method, rule), role in sorted(PERMISSIONS.items(),
                                       key=lambda item: (item[0][1], item[0][0])):
        cells = ["yes" if role == PUBLIC else "—",
                 *("yes" if allows(name, role) else "—" for name in ROLES)]
        whose = "own; admin: all" if rule in OWN else ""
        if rule in JOB_ROUTES:
            whose += "; the role that starts the job's kind"
        lines.append(f"| {method} | `{openapi_path(rule)}` | {' | '.join(cells)} | {whose} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
