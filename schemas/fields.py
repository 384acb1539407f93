"""Strict marshmallow fields: no coercion from strings, booleans or non-finite numbers.

marshmallow's own ``Float`` accepts ``"1.5"`` and ``True``; ``Boolean`` accepts ``"yes"`` and
``1``. A proposal that says ``"quantity": "12"`` is a client bug we must name, not guess at.
"""

from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import ValidationError, fields, validate

ISO_ALPHA2 = re.compile(r"^[A-Z]{2}$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class StrictFloat(fields.Float):
    """A JSON number (integer or decimal), finite, returned as ``float``."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's documented override point
        "invalid": "Not a number: expected a JSON number, not a string or boolean.",
        "special": "Not a finite number: NaN and Infinity are not allowed.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not _is_number(value):
            raise self.make_error("invalid")
        if not math.isfinite(value):
            raise self.make_error("special")
        return float(value)


class StrictInteger(fields.Integer):
    """A JSON integer; ``12.0``, ``"12"`` and ``true`` are refused."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's documented override point
        "invalid": "Not an integer: expected a JSON integer, not a string, decimal or boolean.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.make_error("invalid")
        return int(value)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    """A JSON string, stripped of surrounding blanks; empty after stripping is refused."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's documented override point
        "blank": "Must not be blank.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("blank")
        return text


class CountryCode(StrictString):
    """An ISO 3166-1 alpha-2 code in upper case (``JP``, ``US``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not ISO_ALPHA2.match(code):
            raise ValidationError(
                "Not an ISO 3166-1 alpha-2 country code (two upper-case letters)."
            )
        return code


def one_of(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A response field holding one of ``values`` (documented as an enum in the OpenAPI)."""
    return fields.String(validate=validate.OneOf(values), **kwargs)


class Verbatim(fields.Nested):
    """A nested schema the OpenAPI document shows in full, whose value is sent as it is.

    For the engine's evaluations, which already have exactly that shape (tests/api holds
    ``EvaluationSchema().dump(result) == result``): walking ~300 fields of one through
    marshmallow on every response cost ~0.4 ms a request, more than evaluating it natively.
    """

    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return nested_obj
