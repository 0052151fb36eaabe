"""ODCS v3: an export that datacontract-cli tests as it is, and `mesh import` of any check the standard defines."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mesh_platform.cli import app
from mesh_platform.contracts import ContractError
from mesh_platform.contracts.model import AUDIT_COLUMNS, LINEAGE_COLUMNS
from mesh_platform.contracts.odcs import from_odcs, odcs_schema_errors, to_odcs
from mesh_platform.mesh import all_contracts

SOURCE = "foreign.odcs.yaml"


@pytest.fixture(scope="module")
def orders():
    return all_contracts()["sales.orders"]


pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

def _document(contract, column: str | None = None, checks: list[dict] | None = None, **top) -> dict:
    document = copy.deepcopy(to_odcs(contract, lake_root=Path("/lake")))
    if column is not None:
        prop = next(p for p in document["schema"][0]["properties"] if p["name"] == column)
        prop["quality"] = checks
    return document | top


# ---- export ---------------------------------------------------------------------------------------------

def test_export_names_the_table_its_delta_location_the_freshness_element_and_every_published_column():
    for key, contract in all_contracts().items():
        document = to_odcs(contract, lake_root=Path("/lake"))
        table = document["schema"][0]
        assert table["name"] == table["physicalName"] == contract.asset_name, key  # SQL tools query this name
        assert document["servers"] == [{
            "server": "lake", "type": "local", "format": "delta",
            "path": f"/lake/{contract.domain}/gold/{contract.asset_name}",
            "description": f"the published Delta table of {key}"}], key
        assert document["slaProperties"][0] == {"property": "freshness", "value": contract.sla.freshness_hours,
                                                "unit": "h", "element": f"{contract.asset_name}._computed_at"}
        columns = {p["name"]: p for p in table["properties"]}
        assert list(columns) == list(contract.published_columns), key  # the exact column set of the table
        platform = {n for n, p in columns.items() if {"property": "mesh.platform_column", "value": True}
                    in p.get("customProperties", [])}
        lineage = set(LINEAGE_COLUMNS) if contract.kind == "composed" else set()
        assert platform == set(AUDIT_COLUMNS) | lineage, key
        assert all(columns[n]["required"] and columns[n]["description"] for n in platform), key
        assert odcs_schema_errors(document) == [], key
        assert from_odcs(yaml.safe_load(yaml.safe_dump(document)), key) == contract, key  # platform columns dropped
    composed = to_odcs(all_contracts()["marketing.unified_customer_view"])["schema"][0]["properties"]
    assert [p["name"] for p in composed][-4:] == ["_source_products", "_composed_at", "_computed_at", "_product_version"]


def test_export_command_points_the_servers_at_the_lake_given(tmp_path):
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path), "-p", "sales.orders", "--lake", "/data/lake"])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((tmp_path / "sales.orders.odcs.yaml").read_text())
    assert document["servers"][0]["path"] == "/data/lake/sales/gold/orders"
    order_date = next(p for p in document["schema"][0]["properties"] if p["name"] == "order_date")
    # the date bound runs in datacontract-cli as exported: ${as_of} defaults to the mesh's as-of date
    assert "DATE '${as_of:-1998-08-02}'" in order_date["quality"][-1]["query"]


# ---- import: every metric and operator, mapped or refused -----------------------------------------------

MAPPED = [
    ({"metric": "nullValues", "mustBe": 0}, {"rule": "not_null", "threshold": 1.0}),
    ({"metric": "nullValues", "mustBeLessOrEqualTo": 0}, {"rule": "not_null", "threshold": 1.0}),
    ({"metric": "nullValues", "mustBeLessThan": 1, "unit": "rows"}, {"rule": "not_null", "threshold": 1.0}),
    ({"metric": "nullValues", "unit": "percent", "mustBeLessOrEqualTo": 5}, {"rule": "not_null", "threshold": 0.95}),
    ({"metric": "nullValues", "unit": "percent", "mustBeBetween": [0, 10]}, {"rule": "not_null", "threshold": 0.9}),
    ({"metric": "missingValues", "arguments": {"missingValues": [None]}, "mustBe": 0},
     {"rule": "not_null", "threshold": 1.0}),
    ({"metric": "duplicateValues", "mustBe": 0}, {"rule": "unique"}),
    ({"metric": "duplicateValues", "unit": "percent", "mustBeLessOrEqualTo": 0}, {"rule": "unique"}),
    ({"metric": "invalidValues", "arguments": {"validValues": ["F", "O"]}, "mustBe": 0},
     {"rule": "allowed_values", "values": ["F", "O"]}),
    ({"type": "sql", "query": "SELECT MIN(order_status) FROM ${table}", "mustBeGreaterOrEqualTo": 0},
     {"rule": "min", "value": 0}),
    ({"type": "sql", "query": "select max(order_status) from ${object};", "mustBeLessOrEqualTo": 9},
     {"rule": "max", "value": 9}),
]


@pytest.mark.parametrize(("check", "rule"), MAPPED, ids=[str(c) for c, _ in MAPPED])
def test_import_maps_each_check_with_a_contract_equivalent(orders, check, rule):
    document = _document(orders, "order_status", [{"name": "q", "severity": "error", **check}])
    imported = [r.model_dump() for r in from_odcs(document, SOURCE).quality if r.column == "order_status"]
    expected = {"column": "order_status", "severity": "critical", **rule}
    assert [r for r in imported if expected.items() <= r.items()] == [imported[0]]  # the replaced check, first


REFUSED = [
    ({"metric": "nullValues", "mustBeGreaterThan": 0}, "not_null caps the share of nulls"),
    ({"metric": "nullValues", "mustNotBe": 0}, "not_null caps the share of nulls"),
    ({"metric": "nullValues", "mustBeLessOrEqualTo": 10}, "not_null caps the share of nulls"),
    ({"metric": "nullValues", "mustNotBeBetween": [0, 5]}, "not_null caps the share of nulls"),
    ({"metric": "nullValues", "unit": "percent", "mustBeLessOrEqualTo": 100}, "checks nothing"),
    ({"metric": "missingValues", "arguments": {"missingValues": [None, "N/A"]}, "mustBe": 0}, "['N/A']"),
    ({"metric": "duplicateValues", "unit": "percent", "mustBeLessThan": 1}, "no duplicates at all"),
    ({"metric": "duplicateValues", "mustBeGreaterOrEqualTo": 0}, "no duplicates at all"),
    ({"metric": "invalidValues", "arguments": {"pattern": "^[FOP]$"}, "mustBe": 0}, "pattern"),
    ({"metric": "invalidValues", "arguments": {"validValues": "F"}, "mustBe": 0}, "must be a non-empty list"),
    ({"metric": "invalidValues", "arguments": {"validValues": ["F"]}, "mustBeLessThan": 10, "unit": "percent"},
     "no invalid values at all"),
    ({"metric": "rowCount", "mustBeGreaterThan": 0}, "put it in schema[0].quality"),
    ({"type": "sql", "query": "SELECT MIN(order_status) FROM ${table}", "mustBeGreaterThan": 0}, "inclusive min"),
    ({"type": "sql", "query": "SELECT MAX(order_status) FROM ${table}", "mustBeBetween": [0, 5]}, "inclusive max"),
    ({"type": "sql", "query": "SELECT COUNT(*) FROM ${table} WHERE x", "mustBe": 0}, "other SQL has no equivalent"),
    ({"type": "text", "description": "statuses are sane"}, "prose"),
    ({"type": "custom", "engine": "soda", "implementation": "type: row_count"}, "engine 'soda'"),
]


@pytest.mark.parametrize(("check", "reason"), REFUSED, ids=[str(c) for c, _ in REFUSED])
def test_import_refuses_each_check_without_equivalent_naming_it_and_why(orders, check, reason):
    document = _document(orders, "order_status", [{"name": "q", **check}])
    assert odcs_schema_errors(document) == []  # a valid document: the refusal is the platform's, said so
    with pytest.raises(ContractError) as refused:
        from_odcs(document, SOURCE)
    message = str(refused.value)
    position = [p["name"] for p in document["schema"][0]["properties"]].index("order_status")
    assert message.startswith(f"{SOURCE}: schema[0].properties[{position}].quality[0]: check 'q' (")
    assert "on order_status has no equivalent contract rule" in message and reason in message
    assert "\n" not in message


@pytest.mark.parametrize(("checks", "min_rows", "allow_empty"), [
    ([{"metric": "rowCount", "mustBeGreaterThan": 99}], 100, False),
    ([{"metric": "rowCount", "mustBeGreaterOrEqualTo": 1}], None, False),
    ([{"metric": "rowCount", "mustBeGreaterOrEqualTo": 0}], None, True),
])
def test_import_reads_a_row_count_minimum(orders, checks, min_rows, allow_empty):
    document = _document(orders)
    document["schema"][0]["quality"] = checks
    imported = from_odcs(document, SOURCE)
    assert (imported.min_rows, imported.allow_empty) == (min_rows, allow_empty)


@pytest.mark.parametrize(("check", "reason"), [
    ({"metric": "rowCount", "mustBeLessThan": 10}, "only sets a minimum row count"),
    ({"metric": "rowCount", "mustBeBetween": [1, 10]}, "only sets a minimum row count"),
    ({"metric": "nullValues", "mustBe": 0}, "only rowCount (min_rows) is supported at table level"),
])
def test_import_refuses_other_table_checks(orders, check, reason):
    document = _document(orders)
    document["schema"][0]["quality"] = [{"name": "t", **check}]
    with pytest.raises(ContractError, match=r"^foreign\.odcs\.yaml: schema\[0\]\.quality") as refused:
        from_odcs(document, SOURCE)
    assert reason in str(refused.value)


@pytest.mark.parametrize(("value", "unit", "hours"), [
    (1, "d", 24), (3, "days", 72), (2, "h", 2), (1, "w", 168), (1, "y", 8760), (1, "mo", 720), (30, "min", 0.5),
    ("P1D", None, 24), ("PT4H", None, 4), ("P1DT12H", None, 36), ("PT90M", None, 1.5),
])
def test_import_converts_sla_units_to_hours(orders, value, unit, hours):
    document = _document(orders, slaProperties=[{"property": "freshness", "value": value, "unit": unit}])
    if unit is None:
        del document["slaProperties"][0]["unit"]
    assert from_odcs(document, SOURCE).sla.freshness_hours == hours


@pytest.mark.parametrize(("value", "unit", "error"), [
    (1, "m", "slaProperties[0].unit: 'm' is ambiguous (month or minute); write 'mo' or 'min'"),
    (1, "parsecs", "slaProperties[0].unit: 'parsecs' is not a time unit"),
    (4, None, "slaProperties[0].unit: missing; write the unit of 4"),
    ("soon", "h", "slaProperties[0].value: 'soon' is neither a number nor an ISO-8601 duration"),
])
def test_import_refuses_sla_values_it_cannot_convert(orders, value, unit, error):
    document = _document(orders, slaProperties=[{"property": "freshness", "value": value,
                                                 **({"unit": unit} if unit else {})}])
    with pytest.raises(ContractError, match=f"^{SOURCE}: ") as refused:
        from_odcs(document, SOURCE)
    assert error in str(refused.value)


def test_mesh_import_says_what_it_refuses_in_one_line_without_a_traceback(orders, tmp_path):
    document = _document(orders, "order_status", [{"name": "positive", "metric": "nullValues", "mustBeGreaterThan": 0}])
    path = tmp_path / "foreign.odcs.yaml"
    path.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(app, ["import", str(path), "--domains-dir", str(tmp_path / "domains")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{path}: schema[0].properties[3].quality[0]: check 'positive' (metric nullValues, mustBeGreaterThan 0)" \
        in result.output.replace("\n", "")
    document = _document(orders, "order_status", [{"metric": "nullValues", "mustBe": 0}],
                         slaProperties=[{"property": "freshness", "value": 1, "unit": "d"}])
    path.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(app, ["import", str(path), "--domains-dir", str(tmp_path / "domains")])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "domains" / "sales" / "contracts" / "orders.yaml").read_text())
    assert written["sla"] == {"freshness_hours": 24.0}
    assert {"rule": "not_null", "column": "order_status"} in written["quality"]
