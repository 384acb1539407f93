"""Load: a locust scenario against the service as deployed, and the script that runs it."""
