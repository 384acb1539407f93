"""Marshmallow schemas: the contract between clients, the API, the workers and the engine.

Every schema rejects unknown fields and refuses type coercion, because durable-rules silently
compares ``"100" < 50`` as true: nothing unvalidated may reach the rules.
"""

from schemas.proposal import ProposalSchema

__all__ = ["ProposalSchema"]
