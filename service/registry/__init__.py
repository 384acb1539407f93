"""The ruleset registry: published versions, the active one, and per-process engines by version.

Analysts publish a ruleset as a new version; activating a version makes new evaluations use it,
without restarting anything. An evaluation is pinned to a version when it is submitted, so one
in flight finishes on the version it started with, and every result names its version.
"""
