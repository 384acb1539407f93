"""API-level tests without Redis: contracts, settings, error mapping (Flask test client)."""
