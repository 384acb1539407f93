"""Robustness of a batch's ranking and portfolio to the uncertainty its ruleset declares: exact
weight-stability intervals, SMAA-2 rank acceptability, portfolio core indices, and SVG charts
of them. Pure computation over a batch's stored summaries: no Flask, Celery or Redis."""
