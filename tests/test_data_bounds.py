"""Data that breaks a contract's bounds is not published: dates beyond the run's as-of date or before a
fixed date, an empty build, too few rows; values leaving their learned range are flagged by drift."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
import yaml
from dagster import DagsterInstance, materialize
from deltalake import DeltaTable
from pyspark.sql import functions as F

from mesh_platform.checks import evaluate_contract
from mesh_platform.checks.names import ROW_COUNT_CHECK
from mesh_platform.contracts.diff import diff
from mesh_platform.contracts.loader import ContractError, parse_contract
from mesh_platform.contracts.odcs import from_odcs, odcs_schema_errors, to_odcs
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.materialize import with_audit_columns
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import bronze_path, product_path, write_arrow
from test_checks import _jobs_for

AS_OF = date(1998, 8, 2)  # the platform's default as-of date, which the runs below use
SALES = {
    "name": "sales", "domain": "shop", "version": "1.0.0", "owner": "team:shop", "description": "Sales",
    "primary_key": ["sale_id"], "sources": ["sales"], "sla": {"freshness_hours": 1},
    "schema": [{"name": "sale_id", "type": "string", "nullable": False, "description": "Sale"},
               {"name": "sold_on", "type": "date", "nullable": False, "description": "Day of the sale"},
               {"name": "amount", "type": "decimal(18,2)", "nullable": False, "description": "Amount"}],
    "quality": [{"rule": "min", "column": "sold_on", "value": "1992-01-01"},
                {"rule": "max", "column": "sold_on", "value": "as_of"},
                {"rule": "min", "column": "amount", "value": 0}],
}


def _contract(**changes) -> object:
    return parse_contract({**SALES, **changes}, "sales.yaml")


def _days(rows: int, broken_every: int = 0, broken: date | None = None) -> list[date]:
    """`rows` sale dates in 1995..1998, every `broken_every`-th one replaced by `broken`."""
    return [broken if broken_every and i % broken_every == 0 else date(1995, 1, 1) + timedelta(days=i % 1200)
            for i in range(rows)]


def _frame(spark, contract, days: list[date], amounts: list[int] | None = None):
    amounts = amounts or [10 + i % 50 for i in range(len(days))]
    rows = [(f"s{i}", d, Decimal(a)) for i, (d, a) in enumerate(zip(days, amounts))]
    df = spark.createDataFrame(rows, "sale_id string, sold_on date, amount decimal(18,2)")
    return with_audit_columns(df, contract, datetime.now(UTC)).cache()


# ---- the contract model: syntax and errors ----------------------------------------------------------

def test_date_bounds_parse_to_one_spelling_and_bad_ones_name_file_field_and_fix():
    contract = _contract(quality=[{"rule": "min", "column": "sold_on", "value": date(1992, 1, 1)},  # unquoted YAML
                                  {"rule": "max", "column": "sold_on", "value": "as_of+1 days"}])
    assert [r.value for r in contract.quality] == ["1992-01-01", "as_of + 1 day"]
    assert contract.quality[1].date_bound.resolve(AS_OF) == date(1998, 8, 3)
    assert _contract(quality=[{"rule": "min", "column": "sold_on", "value": "as_of - 30 years"}]).quality[0] \
        .date_bound.resolve(date(2024, 2, 29)) == date(1994, 2, 28)
    cases = [
        ([{"rule": "max", "column": "sold_on", "value": "today"}], {},
         "sales.yaml: quality[0].value: 'today' is not a bound; write a number, a date YYYY-MM-DD, or as_of"),
        ([{"rule": "max", "column": "amount", "value": "as_of"}], {},
         "sales.yaml: quality[0].value: 'as_of' is a date bound but amount is decimal(18,2); give a number"),
        ([{"rule": "min", "column": "sold_on", "value": 0}], {},
         "sales.yaml: quality[0].value: sold_on is a date; give a date bound such as 1992-01-01 or as_of, not 0"),
        ([], {"min_rows": 10, "allow_empty": True},
         "sales.yaml: allow_empty: true contradicts min_rows: 10; remove one of them"),
        ([], {"min_rows": 0}, "sales.yaml: min_rows: Input should be greater than or equal to 1"),
    ]
    for quality, extra, message in cases:
        with pytest.raises(ContractError) as caught:
            _contract(quality=quality, **extra)
        assert str(caught.value).startswith(message), str(caught.value)


# ---- evaluation: in the contract's one aggregation ----------------------------------------------------

def test_year_one_dates_and_dates_after_as_of_fail_critical_bounds(spark):
    contract = _contract()
    ancient = evaluate_contract(_frame(spark, contract, _days(200, 10, date(1, 1, 1))), contract, as_of=AS_OF)
    low = ancient.outcome("min_sold_on")
    assert (low.passed, low.critical, low.metadata["failing_rows"]) == (False, True, 20)  # 10 % of the rows
    assert (low.metadata["observed"], low.metadata["threshold"]) == ("0001-01-01", "1992-01-01")
    assert low.metadata["examples"][0] == "sale_id=s0, sold_on=0001-01-01"
    assert [o.name for o in ancient.blocking_failures] == ["min_sold_on"]

    future = evaluate_contract(_frame(spark, contract, _days(200, 5, date(2999, 1, 1))), contract, as_of=AS_OF)
    high = future.outcome("max_sold_on")
    assert (high.passed, high.metadata["failing_rows"], high.metadata["observed"]) == (False, 40, "2999-01-01")
    assert (high.metadata["threshold"], high.metadata["bound"]) == ("1998-08-02", "as_of")
    # the same data, judged as of a later run date, is within the bound: as_of is the run's, not the clock's
    later = evaluate_contract(_frame(spark, contract, _days(200, 5, date(2999, 1, 1))), contract, as_of=date(3000, 1, 1))
    assert later.outcome("max_sold_on").passed


def test_a_timestamp_is_within_as_of_through_the_whole_as_of_day(spark):
    contract = parse_contract({**SALES, "schema": [*SALES["schema"][:1], {"name": "sold_at", "type": "timestamp"},
                                                   SALES["schema"][2]],
                               "quality": [{"rule": "max", "column": "sold_at", "value": "as_of"},
                                           {"rule": "min", "column": "sold_at", "value": "as_of - 10 years"}]}, "t")
    rows = [("a", datetime(1998, 8, 2, 23, 59), Decimal(1)), ("b", datetime(1998, 8, 3, 0, 1), Decimal(1)),
            ("c", datetime(1988, 8, 1, 12), Decimal(1))]
    df = spark.createDataFrame(rows, "sale_id string, sold_at timestamp, amount decimal(18,2)")
    report = evaluate_contract(with_audit_columns(df, contract, datetime.now(UTC)).cache(), contract, as_of=AS_OF)
    assert report.outcome("max_sold_at").metadata["examples"] == ["sale_id=b, sold_at=1998-08-03 00:01:00"]
    assert report.outcome("min_sold_at").metadata["examples"] == ["sale_id=c, sold_at=1988-08-01 12:00:00"]


def test_an_empty_build_is_refused_unless_the_contract_allows_it_and_min_rows_is_a_floor(spark):
    empty = _frame(spark, _contract(), [])
    refused = evaluate_contract(empty, _contract(), as_of=AS_OF).outcome(ROW_COUNT_CHECK)
    assert (refused.passed, refused.critical, refused.metadata["rows"]) == (False, True, 0)
    assert "set allow_empty: true" in refused.metadata["error"]
    assert evaluate_contract(empty, _contract(allow_empty=True), as_of=AS_OF).outcome(ROW_COUNT_CHECK).passed

    floor = _contract(min_rows=150)
    short = evaluate_contract(_frame(spark, floor, _days(149)), floor, as_of=AS_OF).outcome(ROW_COUNT_CHECK)
    assert not short.passed and short.metadata["error"] == "149 rows, fewer than the contract's min_rows 150"
    assert short.description == "At least 150 rows"
    assert evaluate_contract(_frame(spark, floor, _days(150)), floor, as_of=AS_OF).outcome(ROW_COUNT_CHECK).passed


def test_date_bounds_and_the_row_count_add_no_spark_job(spark, monkeypatch):
    plain = _contract(quality=[{"rule": "min", "column": "amount", "value": 0}])
    bounded = _contract(min_rows=10, quality=[*SALES["quality"],
                                              {"rule": "min", "column": "sold_on", "value": "as_of - 30 years"}][1:])
    df = _frame(spark, plain, _days(100))
    df.count()
    jobs_plain = _jobs_for(spark, "plain", lambda: evaluate_contract(df, plain, as_of=AS_OF), monkeypatch)
    jobs_bounded = _jobs_for(spark, "bounded", lambda: evaluate_contract(df, bounded, as_of=AS_OF), monkeypatch)
    assert len(bounded.quality) == 3 and jobs_bounded == jobs_plain


# ---- publishing: nothing breaking a bound reaches the lake ---------------------------------------------

@pytest.fixture
def lake_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))  # platform resources bind it when built
    return tmp_path / "lake"


def _bronze(lake_root, days: list[date], amounts: list[int] | None = None) -> None:
    amounts = amounts or [10 + i % 50 for i in range(len(days))]
    write_arrow(pa.table({"sale_id": [f"s{i}" for i in range(len(days))], "sold_on": pa.array(days, pa.date32()),
                          "amount": pa.array([float(a) for a in amounts])}),
                bronze_path(lake_root, "shop", "sales"))


def _publish(instance, contract):
    def transform(ctx):
        return ctx.source("sales").select("sale_id", "sold_on", F.col("amount").cast("decimal(18,2)"))

    result = materialize([bronze_spec("shop", "sales", "team:shop"), product_asset(contract, transform)],
                         resources=platform_resources("shop"), instance=instance, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    published = result.asset_materializations_for_node("shop__sales")
    return result, checks, published[0].metadata if published else None


def test_bad_dates_too_few_rows_and_an_empty_build_are_refused_and_the_previous_version_stays_current(lake_root, spark):
    instance, contract = DagsterInstance.ephemeral(), _contract(min_rows=250)
    _bronze(lake_root, _days(300))
    assert _publish(instance, contract)[0].success
    table = str(product_path(lake_root, "shop", "sales"))
    version = DeltaTable(table).version()

    for days, failed in ((_days(300, 10, date(1, 1, 1)), "min_sold_on"),  # year 1 in 10 % of the rows
                         (_days(300, 5, date(2999, 1, 1)), "max_sold_on"),  # year 2999 in 20 %
                         (_days(200), ROW_COUNT_CHECK),  # below min_rows
                         ([], ROW_COUNT_CHECK)):  # an empty feed, where the last publish had 300 rows
        _bronze(lake_root, days)
        result, checks, metadata = _publish(instance, contract)
        assert not result.success and metadata is None, failed
        assert [n for n, e in checks.items() if not e.passed and e.severity.value == "ERROR"] == [failed]
        assert (failed != ROW_COUNT_CHECK
                or checks[failed].metadata["error"].text == f"{len(days)} rows, fewer than the contract's min_rows 250")
        assert DeltaTable(table).version() == version
        current = DeltaTable(table).to_pyarrow_table()
        assert current.num_rows == 300 and min(current["sold_on"].to_pylist()) == date(1995, 1, 1)

    allowed = _contract(version="1.1.0", allow_empty=True)  # loosened: a minor version
    result, checks, metadata = _publish(instance, allowed)
    assert result.success and checks[ROW_COUNT_CHECK].passed and metadata["dagster/row_count"].value == 0
    assert DeltaTable(table).version() == version + 1 and DeltaTable(table).to_pyarrow_table().num_rows == 0


def test_drift_learns_each_columns_value_range_and_flags_a_build_outside_it(lake_root, spark):
    instance = DagsterInstance.ephemeral()
    contract = _contract(quality=[])  # no bounds: only drift watches the values
    for top in (59, 61, 60):  # a normal history: amounts 10..~60, dates 1995-01-01..1995-10-27
        _bronze(lake_root, _days(300), [10 + i % (top - 9) for i in range(300)])
        result, checks, metadata = _publish(instance, contract)
        assert result.success and checks["drift_distribution"].passed
    assert (metadata["drift/min/amount"].value, metadata["drift/max/amount"].value) == (10, 60)
    assert metadata["drift/max/sold_on"].value == (date(1995, 10, 27) - date(1970, 1, 1)).days

    _bronze(lake_root, _days(300, 10, date(2999, 1, 1)), [10 + i % 50 for i in range(299)] + [6000])
    result, checks, metadata = _publish(instance, contract)
    drift = checks["drift_distribution"]
    assert result.success and not drift.passed and drift.severity.value == "WARN"  # a warning: published
    outside = drift.metadata["outside_band"].value
    assert sorted(outside) == ["max/amount", "max/sold_on"]
    assert outside["max/amount"]["value"] == 6000 and outside["max/amount"]["band"][1] < 100
    assert outside["max/sold_on"]["as_dates"]["value"] == "2999-01-01"
    assert outside["max/sold_on"]["as_dates"]["band"][1] < "2000-01-01"
    # the band is recorded next to the value, for the asset's plots: span 50, so +- 12.5 around 60
    assert (metadata["drift/max/amount_low"].value, metadata["drift/max/amount_high"].value) == (47.5, 72.5)


# ---- the contract's other faces: ODCS and the change classification -------------------------------------

def test_date_bounds_and_row_counts_round_trip_through_odcs():
    relative = _contract(min_rows=1000, quality=[SALES["quality"][0], SALES["quality"][2],
                                                 {"rule": "max", "column": "sold_on", "value": "as_of + 2 days"}])
    for contract in (relative, _contract(), _contract(allow_empty=True)):
        document = to_odcs(contract)
        assert odcs_schema_errors(document) == []
        assert from_odcs(yaml.safe_load(yaml.safe_dump(document)), "sales.odcs.yaml") == contract
    table = to_odcs(relative, as_of=date(1998, 8, 2))["schema"][0]
    assert table["quality"][0] | {"customProperties": None} == {
        "name": "row_count", "type": "library", "metric": "rowCount", "severity": "error",
        "mustBeGreaterOrEqualTo": 1000, "unit": "rows", "customProperties": None}
    sold_on = next(p for p in table["properties"] if p["name"] == "sold_on")["quality"]
    assert [q["query"] for q in sold_on] == [
        "SELECT COUNT(*) FROM ${object} WHERE CAST(sold_on AS DATE) < DATE '1992-01-01'",
        "SELECT COUNT(*) FROM ${object} WHERE CAST(sold_on AS DATE) > DATE '${as_of:-1998-08-02}' + INTERVAL '2' DAY"]
    assert "quality" not in to_odcs(_contract(allow_empty=True))["schema"][0]
    foreign = to_odcs(_contract())  # a contract from elsewhere: a plain rowCount metric is min_rows
    foreign["schema"][0]["quality"][0].update(mustBeGreaterOrEqualTo=50, customProperties=[])
    assert from_odcs(foreign, "x").min_rows == 50


def test_contract_diff_classifies_bounds_and_row_counts():
    old = _contract()
    cases = [
        ({"min_rows": 500}, "min_rows", "constraint_tightened", True),
        ({"allow_empty": True}, "min_rows", "constraint_loosened", False),
        ({"quality": [{**SALES["quality"][0], "value": "1995-01-01"}, *SALES["quality"][1:]]},
         "quality.min.sold_on", "constraint_tightened", True),
        ({"quality": [SALES["quality"][0], {**SALES["quality"][1], "value": "as_of + 1 day"}, SALES["quality"][2]]},
         "quality.max.sold_on", "constraint_loosened", False),
        ({"quality": [{**SALES["quality"][0], "value": "as_of - 5 years"}, *SALES["quality"][1:]]},
         "quality.min.sold_on", "constraint_tightened", True),  # a fixed date against a moving one
        ({"quality": [*SALES["quality"], {"rule": "max", "column": "amount", "value": 10}]},
         "quality.max.amount", "constraint_added", True),
    ]
    for changes, field, kind, breaking in cases:
        found = [(c.field, c.kind, c.breaking) for c in diff(old, _contract(**changes))]
        assert found == [(field, kind, breaking)], changes
    assert diff(old, _contract(min_rows=500))[0].detail == "not empty -> at least 500 rows"
    assert diff(old, _contract(allow_empty=True))[0].detail == "not empty -> may be empty"
