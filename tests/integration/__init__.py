"""Integration tests: a real Redis, real ``celery worker`` processes, real HTTP servers."""
