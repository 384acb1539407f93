"""The fast path of ``ProposalSchema.load`` accepts only what marshmallow accepts, loads it to
exactly marshmallow's result (types and key order included), and leaves every refusal, with
its wording, to marshmallow.

Checked with hypothesis on valid proposals (which the fast path must take: it is the point)
and on proposals broken the ways client data breaks: wrong types, booleans for numbers, huge
integers, NaN and infinities, unknown and missing keys, lists of wrong items, lone surrogates,
control and bidirectional characters, blank and over-long text, subclasses of the JSON types.
"""

from __future__ import annotations

import contextlib
import copy
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, post_load, pre_load

from schemas.fastload import Declined, Unsupported, fast_loader
from schemas.fields import StrictString
from schemas.proposal import MoneySchema, ProposalSchema
from tests.strategies import COUNTRIES, proposals

SCHEMA = ProposalSchema()
FAST = fast_loader(ProposalSchema())
CORPUS = settings(max_examples=1000, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])


class Text(str):
    pass


class Whole(int):
    pass


class Decimal(float):
    pass


class Mapping(dict):  # type: ignore[type-arg]
    pass


class Items(list):  # type: ignore[type-arg]
    pass


NASTY = st.one_of(
    st.sampled_from([
        None, True, False, 0, -1, 7, 2026, 10**400, -(10**400), 1.5, -0.0, 1e308,
        float("nan"), float("inf"), float("-inf"), "", " ", "\t\n", "12", "x" * 301,
        "\ud800", "a\udfffb", "a\x00b", "a\x1bb", "a\u202eb", "a\x85b", "JP\n", "jp", "J1",
        " JP", "fms", "link16", "USD", "mode5", "hypersonic", " fms", [], {}, [1], [None],
        ["link16", 5], ("link16",), ["link16", "link16"], b"fms", Text("fms"), Text("JP"),
        Whole(3), Decimal(2.5), Mapping(), Items(["link16"]), {"amount": 1, "currency": "USD"},
        {"amount": True, "currency": "USD"}, {"amount": 5, "currency": "EUR"},
    ]),
    st.text(max_size=4),
    st.integers(),
    st.floats(),
    st.lists(st.sampled_from(["link16", "JP", "US", "x", 1, None]), max_size=3),
)
UNKNOWN = st.sampled_from(["Title", "extra", "unit_costs", "", "id ", "0"])


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a document, the document's own keys included."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        found.append((node, key))
        if isinstance(value, (dict, list)):
            found += _slots(value)
    return found


def _dicts(node: Any) -> list[dict[str, Any]]:
    found = [node] if isinstance(node, dict) else []
    for value in node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else ():
        found += _dicts(value)
    return found


@st.composite
def valid_proposals(draw: st.DrawFn) -> dict[str, Any]:
    """``tests.strategies.proposals`` with the optional fields sometimes given, text with
    blanks around it, sections left out, and amounts as integers."""
    proposal = draw(proposals())
    if draw(st.booleans()):
        proposal["id"] = draw(st.sampled_from(["p-1", " spaced id ", "ünïcode ✓", "x" * 128]))
    if draw(st.booleans()):
        proposal["requesting_country"] = draw(st.sampled_from(COUNTRIES))
    if draw(st.booleans()):
        proposal["system"]["prime_contractor"] = draw(st.sampled_from(["Raytheon", " MHI "]))
    if draw(st.booleans()):
        proposal["title"] = draw(st.sampled_from(["  padded  ", "Ünïcode — ✓", "x" * 300]))
    for section in ("capabilities", "partners", "threats_addressed"):
        if draw(st.integers(0, 4)) == 0:
            del proposal[section]
    if draw(st.integers(0, 4)) == 0:
        del proposal["system"]["origin_country"]
    return proposal


@st.composite
def broken_proposals(draw: st.DrawFn) -> Any:
    """A valid proposal with one to three things broken (or, rarely, nothing)."""
    document: Any = draw(valid_proposals())
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap"]))
        if action == "wrap":
            document = draw(st.sampled_from([[document], Mapping(document), "text", None]))
            break
        if action == "add":
            draw(st.sampled_from(_dicts(document)))[draw(UNKNOWN)] = draw(NASTY)
            continue
        container, key = draw(st.sampled_from(_slots(document)))
        if action == "delete":
            del container[key]
        else:
            container[key] = draw(NASTY)
    return document


def _typed(value: Any) -> Any:
    """``value`` with every type and key order made part of what equality compares."""
    if isinstance(value, dict):
        return (type(value), tuple((k, _typed(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (type(value), tuple(_typed(v) for v in value))
    return (type(value), repr(value))


def marshmallow(document: Any) -> Any:
    """What marshmallow's own walk answers: the loaded proposal, or its error messages."""
    try:
        return _typed(Schema.load(SCHEMA, copy.deepcopy(document)))
    except ValidationError as error:
        return ("refused", error.messages)


def public(document: Any) -> Any:
    try:
        return _typed(SCHEMA.load(document))
    except ValidationError as error:
        return ("refused", error.messages)


@CORPUS
@given(document=valid_proposals())
def test_the_fast_path_loads_every_valid_proposal_as_marshmallow_does(document: Any) -> None:
    assert _typed(FAST(document)) == marshmallow(document)


@CORPUS
@given(document=broken_proposals())
def test_the_fast_path_accepts_nothing_marshmallow_refuses(document: Any) -> None:
    expected = marshmallow(document)
    with contextlib.suppress(Declined):  # declined: marshmallow answers, as checked below
        assert _typed(FAST(document)) == expected
    assert public(document) == expected  # refusals worded by marshmallow, as before


def test_declined_documents_get_marshmallow_s_errors() -> None:
    document = {"title": " ", "fiscal_year": True, "system": {"name": "x", "category": "tank"},
                "acquisition": {"path": "fms", "quantity": 10**400, "capability_area": "x",
                                "unit_cost": {"amount": float("nan"), "currency": "USD"}},
                "threats_addressed": ["air", "\ud800"], "surplus": 1}
    with pytest.raises(Declined):
        FAST(document)
    with pytest.raises(ValidationError) as caught:
        SCHEMA.load(document)
    assert caught.value.messages == marshmallow(document)[1]
    assert set(caught.value.messages) == {"title", "fiscal_year", "system", "acquisition",
                                          "threats_addressed", "surplus"}


def test_options_of_the_call_or_the_instance_take_marshmallow_s_path() -> None:
    # partial loading leaves out defaults too: not what a plain load returns
    assert SCHEMA.load({"title": "only a title"}, partial=True) == {"title": "only a title"}
    assert ProposalSchema(only=("title",)).load({"title": "t"}) == {"title": "t"}
    with pytest.raises(ValidationError):
        SCHEMA.load({"title": "only a title"})


class _WithDataKey(Schema):
    name = StrictString(data_key="Name")


class _WithProcessor(Schema):
    name = StrictString()

    @pre_load
    def _lower(self, data: Any, **_: Any) -> Any:
        return data


class _WithPostLoad(Schema):
    amount = fields.Nested(MoneySchema)

    @post_load
    def _wrap(self, data: Any, **_: Any) -> Any:
        return OrderedDict(data)


class _WithPlainField(Schema):
    name = fields.String()  # marshmallow's String: accepts bytes, not reproduced here


@pytest.mark.parametrize("schema", [_WithDataKey, _WithProcessor, _WithPostLoad,
                                    _WithPlainField])
def test_a_schema_the_fast_path_does_not_reproduce_is_refused_when_built(
    schema: type[Schema],
) -> None:
    with pytest.raises(Unsupported):
        fast_loader(schema())
