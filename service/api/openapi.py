"""The OpenAPI document's promises that no single view makes: who may call an operation, the
errors every request can meet on its way to a view (no key, the wrong role, the rate limit,
Redis down, a body over the limit), and the object-level rules of a schema
(``OPENAPI_EXTRA``, e.g. exactly one of ``unit_cost`` or ``total_cost``).

They are derived here from the same tables the request pipeline uses (``permissions.PERMISSIONS``,
the limiter's ``/v1/`` scope), so the document cannot drift from what the service does. No
operation has a catch-all ``default`` response: a client (and the fuzz tests) can rely on the
listed status codes being all there are.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin

from service.api import permissions

LIMITED_PREFIX = "/v1/"  # what the rate limiter counts, and what needs Redis on the way
_JOB_PATHS = {permissions.openapi_path(route) for route in permissions.JOB_ROUTES}


def _statuses(method: str, path: str, operation: dict[str, Any]) -> list[HTTPStatus]:
    role = permissions.role_for_operation(method, path)
    found: list[HTTPStatus] = []
    if role != permissions.PUBLIC:
        # 429: requests without a valid key are limited per address
        found += [HTTPStatus.UNAUTHORIZED, HTTPStatus.TOO_MANY_REQUESTS]
        # only a role above the lowest can be too low; a job's, for the job's kind
        if role != permissions.ROLES[0] or path in _JOB_PATHS:
            found.append(HTTPStatus.FORBIDDEN)
    if path.startswith(LIMITED_PREFIX):
        found += [HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE]
    if "requestBody" in operation:
        found.append(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        if "application/json" in operation["requestBody"].get("content", {}):
            found.append(HTTPStatus.BAD_REQUEST)  # a body that is not JSON
    return found


def one_of_property(self: Any, field: Any, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """An attribute function of apispec's field converter (``self``): a ``VerbatimOneOf``
    field is documented as ``oneOf`` its schemas, each a component."""
    schemas = getattr(field, "one_of", None)
    if not schemas:
        return {}
    return {"oneOf": [self.resolve_nested_schema(schema) for schema in schemas]}


class ContractPlugin(BasePlugin):
    """Adds to each operation its security and the responses of the request pipeline, and to
    each schema its ``OPENAPI_EXTRA``."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any
                      ) -> dict[str, Any] | None:
        extra: dict[str, Any] | None = getattr(kwargs.get("schema"), "OPENAPI_EXTRA", None)
        return extra  # merged into the definition the marshmallow plugin made

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **_: Any) -> None:
        for method, operation in (operations or {}).items():
            if path is None or not isinstance(operation, dict):
                continue
            if permissions.role_for_operation(method, path) == permissions.PUBLIC:
                operation["security"] = []  # public: probes and scrapers carry no key
            responses = operation.setdefault("responses", {})
            for status in _statuses(method, path, operation):
                responses.setdefault(str(status.value), status.name)
