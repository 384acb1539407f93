"""Strict marshmallow fields: no coercion from strings, booleans or non-finite numbers.

marshmallow's own ``Float`` accepts ``"1.5"`` and ``True``; ``Boolean`` accepts ``"yes"`` and
``1``. A proposal that says ``"quantity": "12"`` is a client bug we must name, not guess at.
"""

from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from schemas.errors import ROOT

ISO_ALPHA2 = re.compile(r"^[A-Z]{2}$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class StrictFloat(fields.Float):
    """A JSON number (integer or decimal), finite, returned as ``float``."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's documented override point
        "invalid": "Not a number: expected a JSON number, not a string or boolean.",
        "special": "Not a finite number: NaN, Infinity and numbers beyond 1.8e308 are not "
                   "allowed.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not _is_number(value):
            raise self.make_error("invalid")
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits: JSON allows it
            raise self.make_error("special") from None
        if not math.isfinite(number):
            raise self.make_error("special")
        return number


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


# What no text field may hold: C0 and C1 control characters other than tab, line feed and
# carriage return (a NUL truncates strings in C code downstream, an ESC drives terminals), and
# the bidirectional embeddings, overrides and isolates that make text display in another order
# than it is stored ("Trojan Source"). Written so Python and ECMA-262, the dialect of the
# OpenAPI document's `pattern`, read the class alike.
FORBIDDEN = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
# What a single-line text (an id, a title, a name) may not hold besides: tab and the line
# breaks (a newline in an id forges a log line; in a title it breaks every table and CSV cell
# it lands in), and the invisible characters that make two texts look alike or reorder what
# follows them: the soft hyphen, the zero-width characters, the bidirectional marks (U+200E,
# U+200F, U+061C) and the byte-order mark.
LINE_BREAKS = "\\n\\r\\u2028\\u2029"
INVISIBLE = "\\xad\\u061c\\u180e\\u200b-\\u200f\\u2060-\\u2064\\ufeff"
# the characters str.strip() removes that are not forbidden anyway
SPACES = "\\t\\n\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# the document's statement of StrictString's rules: no forbidden character, one that is not
# a space; the code below checks the same without a regex over the whole value
TEXT_PATTERN = f"^[^{FORBIDDEN}]*[^{FORBIDDEN}{SPACES}][^{FORBIDDEN}]*$"
_LINE_FORBIDDEN = f"{FORBIDDEN}\\t{LINE_BREAKS}{INVISIBLE}"
LINE_PATTERN = f"^[^{_LINE_FORBIDDEN}]*[^{_LINE_FORBIDDEN}{SPACES}][^{_LINE_FORBIDDEN}]*$"
_SURROGATE = re.compile("[\ud800-\udfff]")
# (error key, what to look for), in the order they are reported; the single-line ones apply
# to single-line text only. Tab is a control character where a text must be one line.
_TEXT_CHECKS = (("surrogate", _SURROGATE), ("forbidden", re.compile(f"[{FORBIDDEN}]")))
_LINE_CHECKS = (("forbidden", re.compile("\t")), ("line_break", re.compile(f"[{LINE_BREAKS}]")),
                ("invisible", re.compile(f"[{INVISIBLE}]")))
# The words of every text check, the proposal's fields and the rule files' texts alike.
TEXT_ERRORS = {
    "surrogate": "Not valid Unicode: contains a lone surrogate (U+{code:04X}).",
    "forbidden": "Contains U+{code:04X}, a control or bidirectional-override character; "
                 "text fields refuse them.",
    "line_break": "Contains U+{code:04X}, a line break; single-line text fields (ids, titles, "
                  "names) refuse them.",
    "invisible": "Contains U+{code:04X}, an invisible character (zero-width, soft hyphen, "
                 "direction mark or byte-order mark); single-line text fields refuse them.",
}


def text_refusal(text: str, *, single_line: bool) -> tuple[str, int] | None:
    """``(error key of TEXT_ERRORS, code point)`` of the first character ``text`` may not
    hold, or None: the one statement of what text the service takes."""
    for error, pattern in (*_TEXT_CHECKS, *(_LINE_CHECKS if single_line else ())):
        if found := pattern.search(text):
            return error, ord(found.group())
    return None


def text_problem(text: str, *, single_line: bool) -> str | None:
    """Why ``text`` is refused, in the words of ``TEXT_ERRORS``, or None."""
    refusal = text_refusal(text, single_line=single_line)
    return None if refusal is None else TEXT_ERRORS[refusal[0]].format(code=refusal[1])


def surrogate_errors(document: Any, path: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """A field error for each key or text of a decoded JSON document holding a lone surrogate.

    JSON's ``"\\ud800"`` escape decodes to one, and such text cannot be encoded as UTF-8: it
    could be neither stored nor sent back. Paths show it as U+FFFD, so the errors can be.
    """
    found: list[dict[str, str]] = []
    children: Any = ()
    if isinstance(document, dict):
        children = document.items()
    elif isinstance(document, list):
        children = ((str(i), v) for i, v in enumerate(document))
    elif isinstance(document, str) and _SURROGATE.search(document):
        found.append({"field": ".".join(path) or ROOT,
                      "message": "Not valid Unicode: contains a lone surrogate."})
    for key, value in children:
        step = _SURROGATE.sub("\ufffd", key)
        if step != key:
            found.append({"field": ".".join((*path, step)),
                          "message": "Not valid Unicode: the name contains a lone surrogate."})
        found += surrogate_errors(value, (*path, step))
    return found


class StrictString(fields.String):
    """A JSON string of at most ``max_length`` characters as sent, without control or
    bidirectional-override characters, not blank; returned stripped of surrounding blanks
    unless ``strip`` is false (codes: `" JP"` is not `"JP"`). ``single_line`` text (ids,
    titles, names) also refuses tab, line breaks and invisible characters.

    Every check is on the value as sent, so the OpenAPI document (``maxLength``, ``pattern``)
    says exactly what is accepted.
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow's documented override point
        "blank": "Must not be blank.",
        "too_long": "Longer than {max_length} characters.",
        **TEXT_ERRORS,
    }

    def __init__(self, *, max_length: int | None = None, strip: bool = True,
                 single_line: bool = False, **kwargs: Any) -> None:
        described: dict[str, Any] = {"pattern": LINE_PATTERN if single_line else TEXT_PATTERN}
        if max_length is not None:
            described["maxLength"] = max_length
        kwargs["metadata"] = {**described, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.max_length = max_length
        self.strip = strip
        self.single_line = single_line

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.max_length is not None and len(text) > self.max_length:
            raise self.make_error("too_long", max_length=self.max_length)
        if refusal := text_refusal(text, single_line=self.single_line):
            raise self.make_error(refusal[0], code=refusal[1])
        if not text.strip():
            raise self.make_error("blank")
        return text.strip() if self.strip else text


class CountryCode(StrictString):
    """An ISO 3166-1 alpha-2 code in upper case (``JP``, ``US``), exactly as sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": ISO_ALPHA2.pattern, **kwargs.get("metadata", {})}
        super().__init__(strip=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not ISO_ALPHA2.match(code):
            raise ValidationError(
                "Not an ISO 3166-1 alpha-2 country code (two upper-case letters)."
            )
        return code


class FullMatch(validate.Regexp):
    """``validate.Regexp`` over the whole value: ``re.match`` lets a pattern ending in ``$``
    accept a trailing newline. The OpenAPI document shows the pattern, as for ``Regexp``."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def exactly_one_of(*names: str) -> dict[str, Any]:
    """The JSON Schema of an object that has exactly one of the properties ``names``: set as a
    schema's ``OPENAPI_EXTRA`` beside the ``validates_schema`` that enforces it, so the
    document states the rule the API applies."""
    return {"oneOf": [{"required": [name]} for name in names]}


def one_of(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A response field holding one of ``values`` (documented as an enum in the OpenAPI)."""
    return fields.String(validate=validate.OneOf(values), **kwargs)


class Verbatim(fields.Nested):
    """A nested schema the OpenAPI document shows in full, whose value is sent as it is.

    For the engine's evaluations, which already have exactly that shape (tests/api holds
    ``EvaluationSchema().dump(result) == result``): walking ~300 fields of one through
    marshmallow on every response cost 0.8 ms a request under cProfile.
    """

    # marshmallow's Field and Nested name the first parameter differently: no name fits both
    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any,  # type: ignore[override]
                   **kwargs: Any) -> Any:
        return nested_obj


class VerbatimOneOf(fields.Raw):
    """A value sent as it is, documented as one of ``schemas`` (``oneOf`` in the OpenAPI
    document; ``service.api.openapi.one_of_property`` writes it)."""

    def __init__(self, *schemas: type[Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.one_of = schemas
