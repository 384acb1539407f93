"""Procurement policy evaluation service: engine, Celery worker, Flask API and CLI."""
