"""A fast path for ``Schema.load``: the same fields, the same checks, the same output, without
marshmallow's per-call machinery.

Loading one proposal through marshmallow costs ~87 µs, most of it the generic walk rather
than the checks: an error store, a getter closure and an ``And`` of the validators built for
every field of every call (cProfile, 18 example proposals); this path takes ~14 µs.
``fast_loader`` walks a schema once and returns a loader that does only what a successful
``load`` does: refuse unknown keys, fill defaults, and for each value call the field's own
``_deserialize`` and validators, then the schema's ``validates_schema`` methods. The checks
themselves stay written once, in the fields; what is replaced is only marshmallow's walk, for
these constructs: schemas with ``unknown=RAISE``; ``Nested`` (one document, no only / exclude
/ unknown of its own), ``List``, and the strict fields of ``schemas.fields``, whose checks
read the value alone. A schema using anything else (data keys, pre- or post-load processors,
``validates`` methods, another field type) is refused when the loader is built
(``Unsupported``), never half-handled.

The loader never words an error. Whenever it is not certain (input that is not plain JSON
data, any check failing) it raises ``Declined``, and ``FastLoad.load`` hands the document to
marshmallow, which decides and words the errors as it always has. So the two cannot differ on
what is refused or how; tests/unit/test_fastload.py checks with hypothesis that whatever the
fast path accepts, marshmallow accepts with an equal result (types and key order included).

Values of a closed vocabulary (and every two-letter upper-case country code) are checked once,
when the loader is built: the fields' checks are pure functions of the text, so a value seen
then is answered from a table.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, missing, types, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from schemas.fields import CountryCode, StrictBoolean, StrictFloat, StrictInteger, StrictString

Loader = Callable[[Any], Any]
# fields whose _deserialize depends on the value alone (not on the key or the document)
LEAF_FIELDS = (StrictString, StrictFloat, StrictInteger, StrictBoolean)
_COUNTRY_CODES = tuple(a + b for a in string.ascii_uppercase for b in string.ascii_uppercase)


class Declined(Exception):
    """The fast path is not certain; marshmallow must load this document."""


class Unsupported(TypeError):
    """The schema uses a construct the fast path does not reproduce."""


_UNSEEN = object()


def _refuse(what: str) -> Unsupported:
    return Unsupported(f"no fast loader for {what}")


def _checked(field: fields.Field, load: Callable[..., Any], *context: None) -> Loader:
    """``load(value, *context)``, then the field's validators; any failure raises
    ``Declined``. ``None``, which no loader here accepts, is passed through where the field
    allows it."""
    validators = tuple(field.validators)

    def checked(value: Any) -> Any:
        try:
            loaded = load(value, *context)
            for check in validators:
                check(loaded)
        except ValidationError:
            raise Declined from None
        return loaded

    if not field.allow_none:
        return checked
    return lambda value: None if value is None else checked(value)


def _candidates(field: fields.Field) -> set[str]:
    """The texts worth checking in advance: a vocabulary, or every country code."""
    found: set[str] = set()
    for check in field.validators:
        if isinstance(check, validate.OneOf):
            found.update(c for c in check.choices if isinstance(c, str))
    if isinstance(field, CountryCode):
        found.update(_COUNTRY_CODES)
    return found


def _leaf(field: fields.Field) -> Loader:
    # a leaf's _deserialize(value, attr, data) reads neither the key nor the document
    checked = _checked(field, field._deserialize, None, None)
    table: dict[str, Any] = {}
    for text in _candidates(field):
        try:
            table[text] = checked(text)
        except Declined:
            continue
    if not table:
        return checked

    def known(value: Any) -> Any:
        if type(value) is str:
            found = table.get(value, _UNSEEN)
            if found is not _UNSEEN:
                return found
        return checked(value)

    return known


def _list(field: fields.List) -> Loader:
    item = _field(field.inner)

    def load(value: Any) -> list[Any]:
        if type(value) is not list:
            raise Declined
        return [item(each) for each in value]

    return _checked(field, load) if field.validators or field.allow_none else load


def _nested(field: fields.Nested) -> Loader:
    if field.many or field.unknown is not None or field.only is not None or field.exclude:
        raise _refuse(f"nested field options of {field.name!r}")
    load = _schema(field.schema)
    return _checked(field, load) if field.validators or field.allow_none else load


def _field(field: fields.Field) -> Loader:
    if field.pre_load or field.post_load:
        raise _refuse(f"field processors on {field.name!r}")
    if isinstance(field, fields.Nested):
        return _nested(field)
    if type(field) is fields.List:
        return _list(field)
    if isinstance(field, LEAF_FIELDS):
        return _leaf(field)
    raise _refuse(f"{type(field).__name__} field {field.name!r}")


def _schema_validators(schema: Schema) -> list[Callable[..., Any]]:
    """The ``validates_schema`` methods, in the order marshmallow runs them for one document."""
    hooks = schema._hooks[VALIDATES_SCHEMA]
    if any(kwargs.get("pass_original") for _, _, kwargs in hooks):
        raise _refuse(f"{type(schema).__name__}: a schema validator taking the original data")
    ordered = [name for name, many, _ in hooks if many] + [n for n, m, _ in hooks if not m]
    return [getattr(schema, name) for name in ordered]


def _schema(schema: Schema) -> Loader:
    name = type(schema).__name__
    if schema.many or schema.partial or schema.only is not None or schema.exclude:
        raise _refuse(f"{name}: many, partial, only or exclude")
    if schema.unknown != RAISE or any(schema._hooks[h] for h in (PRE_LOAD, POST_LOAD, VALIDATES)):
        raise _refuse(f"{name}: unknown={schema.unknown!r}, or load processors")
    steps = []
    for key, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None or "." in key:
            raise _refuse(f"{name}.{key}: data_key or attribute")
        steps.append((key, field.required, field.load_default, _field(field)))
    known = frozenset(key for key, *_ in steps)
    validators = _schema_validators(schema)

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not known.issuperset(data):
            raise Declined
        loaded: dict[str, Any] = {}
        for key, required, default, field in steps:
            value = data.get(key, missing)
            if value is not missing:
                loaded[key] = field(value)
            elif required:
                raise Declined
            elif default is not missing:
                loaded[key] = default() if callable(default) else default
        try:
            for check in validators:
                check(loaded, partial=None, many=False, unknown=RAISE)
        except ValidationError:
            raise Declined from None
        return loaded

    return load


def fast_loader(schema: Schema) -> Loader:
    """A loader for documents of ``schema``: its ``load`` result, or ``Declined``; raises
    ``Unsupported`` when the schema uses what the fast path does not reproduce."""
    return _schema(schema)


class FastLoad(Schema):
    """A schema whose plain ``load(data)`` takes the fast path, and marshmallow's whenever the
    fast path declines (or the call or the instance asks for anything but the defaults)."""

    _fast: ClassVar[dict[type, Loader]] = {}

    def load(self, data: Any, *, many: bool | None = None,
             partial: bool | types.StrSequenceOrSet | None = None,
             unknown: types.UnknownOption | None = None) -> Any:
        if many is None and partial is None and unknown in (None, RAISE):
            try:
                return self._loader()(data)
            except Declined:
                pass
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def _loader(self) -> Loader:
        loader = FastLoad._fast.get(type(self))
        if loader is None:
            loader = FastLoad._fast[type(self)] = fast_loader(type(self)())
        if (self.many or self.partial or self.only is not None or self.exclude
                or self.load_only or self.dump_only or self.unknown != RAISE):
            raise Declined  # an instance built with options: marshmallow applies them
        return loader
