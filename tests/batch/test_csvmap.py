"""CSV columns are proposal field paths; a row converts to exactly the JSON proposal."""

from __future__ import annotations

from typing import Any

from bench.synthetic import header_for, proposal_to_row
from schemas.proposal import ProposalSchema
from service.batch.csvmap import columns, row_to_proposal


def test_columns_are_the_schema_field_paths_with_types() -> None:
    found = columns()

    assert found["acquisition.unit_cost.amount"].kind == "number"
    assert found["acquisition.quantity"].kind == "integer"
    assert found["capabilities.datalinks"].kind == "list"
    assert "link16" in found["capabilities.datalinks"].description
    assert found["title"].required and not found["acquisition.unit_cost.amount"].required


def test_every_example_round_trips_through_a_csv_row(examples: list[dict[str, Any]]) -> None:
    """Equal once validated: an empty list or section has no cell, and left out it loads as
    the same default."""
    header = header_for(examples)
    schema = ProposalSchema()
    for example in examples:
        proposal, errors = row_to_proposal(header, proposal_to_row(example, header))
        assert errors == []
        assert schema.load(proposal) == schema.load(example)


def test_cells_convert_by_field_type() -> None:
    header = ["title", "fiscal_year", "acquisition.unit_cost.amount",
              "acquisition.total_cost.amount", "capabilities.datalinks", "partners.operators"]
    proposal, errors = row_to_proposal(header, [" T ", "2026", "2.35e9", "400", "link16| cec |",
                                                ""])

    assert errors == []
    assert proposal == {"title": "T", "fiscal_year": 2026,
                        "acquisition": {"unit_cost": {"amount": 2.35e9},
                                        "total_cost": {"amount": 400}},
                        "capabilities": {"datalinks": ["link16", "cec"]}}


def test_cells_that_do_not_convert_are_named_by_field() -> None:
    header = ["fiscal_year", "acquisition.quantity", "acquisition.unit_cost.amount"]
    _, errors = row_to_proposal(header, ["2026.0", "1,000", "nan"])

    assert [e["field"] for e in errors] == ["fiscal_year", "acquisition.quantity",
                                            "acquisition.unit_cost.amount"]
    assert "integer" in errors[0]["message"] and "number" in errors[2]["message"]


def test_number_cells_are_read_in_linear_time() -> None:
    # 20,000 digits then a letter: the old pattern backtracked quadratically (5 s here)
    cells = ["1" * 20_000 + "x", "1." + "2" * 20_000 + "e", "9" * 20_000 + ".5.5"]
    for cell in cells:
        _, errors = row_to_proposal(["acquisition.unit_cost.amount"], [cell])
        assert errors and "number" in errors[0]["message"], cell
    proposal, errors = row_to_proposal(["acquisition.unit_cost.amount"], ["12.5e3"])
    assert errors == [] and proposal == {"acquisition": {"unit_cost": {"amount": 12500.0}}}


def test_a_phasing_cell_holds_its_records() -> None:
    header = ["acquisition.total_cost.amount", "acquisition.total_cost.currency",
              "acquisition.phasing", "acquisition.service_life_years"]
    cells = ["8e10", "JPY", "2026:4e10:JPY| 2027:40000000000:JPY", "25"]
    proposal, errors = row_to_proposal(header, cells)
    assert errors == []
    assert proposal["acquisition"]["phasing"] == [
        {"fiscal_year": 2026, "amount": 4e10, "currency": "JPY"},
        {"fiscal_year": 2027, "amount": 40000000000, "currency": "JPY"}]
    assert proposal["acquisition"]["service_life_years"] == 25
    assert "fiscal_year:amount:currency" in columns()["acquisition.phasing"].description
    _, errors = row_to_proposal(["acquisition.phasing"], ["2026-4e10-JPY"])
    assert errors[0]["field"] == "acquisition.phasing" and "2026:4e10:JPY" in errors[0]["message"]
    _, errors = row_to_proposal(["acquisition.phasing"], ["2026:lots:JPY"])
    assert "Not a number" in errors[0]["message"]


def test_a_phased_proposal_round_trips_through_a_csv_row(examples: list[dict[str, Any]]) -> None:
    phased = {**examples[0], "acquisition": {
        **examples[0]["acquisition"], "total_cost": {"amount": 9e9, "currency": "USD"},
        "phasing": [{"fiscal_year": 2026, "amount": 6e9, "currency": "USD"},
                    {"fiscal_year": 2027, "amount": 3e9, "currency": "USD"}]}}
    phased["acquisition"].pop("unit_cost", None)
    header = header_for([phased])
    proposal, errors = row_to_proposal(header, proposal_to_row(phased, header))
    assert errors == []
    assert ProposalSchema().load(proposal) == ProposalSchema().load(phased)
