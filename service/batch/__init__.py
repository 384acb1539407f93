"""Batch scoring: many proposals in one job.

The pure parts live here and import neither Flask, Celery nor Redis, so the API, the workers
and the command line share them: ``formats`` splits an upload into items without holding it in
memory, ``csvmap`` maps CSV columns to proposal fields, ``scoring`` turns a chunk of items into
results with the engine, ``report`` writes ranked CSV / JSON Lines, ``portfolio`` picks the best
set within a budget. ``store`` (with its Redis and in-memory back-ends) is where a batch lives
between the API and the workers.
"""
