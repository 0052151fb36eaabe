"""Contract checks on good and deliberately broken DataFrames, evaluated by real Spark."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from conftest import ON_JVM
from mesh_platform.checks import (
    GOVERNANCE_CHECK,
    NULLABILITY_CHECK,
    PRIMARY_KEY_CHECK,
    SCHEMA_CHECK,
    contract_checks,
    evaluate_contract,
)
from mesh_platform.checks.names import DISTRIBUTION_DRIFT_CHECK, SCHEMA_DRIFT_CHECK
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.product.materialize import with_audit_columns

CONTRACT = parse_contract(
    {
        "name": "payments", "domain": "finance", "version": "1.2.0", "owner": "team:finance",
        "description": "test product", "primary_key": ["payment_id"], "sla": {"freshness_hours": 2},
        "schema": [
            {"name": "payment_id", "type": "string", "nullable": False},
            {"name": "status", "type": "string", "nullable": False},
            {"name": "amount", "type": "decimal(18,2)", "nullable": False},
            {"name": "note", "type": "string"},
        ],
        "quality": [
            {"rule": "unique", "column": "payment_id"},
            {"rule": "allowed_values", "column": "status", "values": ["paid", "open"]},
            {"rule": "min", "column": "amount", "value": 0},
            {"rule": "max", "column": "amount", "value": 1000},
            {"rule": "not_null", "column": "note", "threshold": 0.5, "severity": "warning"},
        ],
    },
    "test",
)
GOOD_ROWS = [(f"p{i}", "paid" if i % 2 else "open", Decimal(i * 10), "ok" if i % 3 else None) for i in range(1, 21)]
SCHEMA = "payment_id string, status string, amount decimal(18,2), note string"


def _report(spark, rows, schema=SCHEMA, transform=lambda df: df):
    df = transform(spark.createDataFrame(rows, schema))
    return evaluate_contract(with_audit_columns(df, CONTRACT, datetime.now(UTC)).cache(), CONTRACT)


def test_good_data_passes_every_check(spark):
    report = _report(spark, GOOD_ROWS)
    assert report.row_count == 20
    # by the governance gate and the drift checks, on the same aggregated row
    judged_elsewhere = {GOVERNANCE_CHECK, SCHEMA_DRIFT_CHECK, DISTRIBUTION_DRIFT_CHECK}
    assert {o.name for o in report.outcomes} == {c.name for c in contract_checks(CONTRACT)} - judged_elsewhere
    assert all(o.passed for o in report.outcomes), [o for o in report.outcomes if not o.passed]
    assert report.outcome("min_amount").metadata["observed"] == 10.0
    assert report.outcome("not_null_note").metadata["observed_completeness"] == pytest.approx(14 / 20)


def test_nulls_in_required_column_fail_nullability_with_counts(spark):
    rows = [*GOOD_ROWS, ("p99", None, Decimal(1), "x")]
    outcome = _report(spark, rows).outcome(NULLABILITY_CHECK)
    assert not outcome.passed and outcome.critical
    assert outcome.metadata["null_counts"] == {"status": 1}


def test_duplicates_fail_unique_and_primary_key_with_example_keys(spark):
    rows = [*GOOD_ROWS, ("p3", "paid", Decimal(5), "dup"), ("p3", "open", Decimal(6), "dup")]
    report = _report(spark, rows)
    unique = report.outcome("unique_payment_id")
    assert not unique.passed and unique.metadata["failing_rows"] == 2
    assert unique.metadata["examples"] == ["payment_id=p3 (3 rows)"]
    key = report.outcome(PRIMARY_KEY_CHECK)
    assert not key.passed and key.metadata["duplicate_rows"] == 2
    assert [o.name for o in report.blocking_failures] == [PRIMARY_KEY_CHECK, "unique_payment_id"]


def test_out_of_range_reports_observed_value_threshold_and_offenders(spark):
    rows = [*GOOD_ROWS, ("p50", "paid", Decimal("-3.50"), "x"), ("p51", "paid", Decimal(5000), "x")]
    report = _report(spark, rows)
    low, high = report.outcome("min_amount"), report.outcome("max_amount")
    assert (low.passed, low.metadata["observed"], low.metadata["threshold"]) == (False, -3.5, 0)
    assert low.metadata["examples"] == ["payment_id=p50, amount=-3.50"]
    assert (high.passed, high.metadata["failing_rows"]) == (False, 1)


def test_values_outside_the_allowed_set_fail(spark):
    outcome = _report(spark, [*GOOD_ROWS, ("p60", "refunded", Decimal(1), "x")]).outcome("allowed_values_status")
    assert not outcome.passed and outcome.metadata["examples"] == ["payment_id=p60, status=refunded"]


def test_completeness_below_threshold_warns_without_blocking(spark):
    rows = [(f"p{i}", "paid", Decimal(1), None if i > 2 else "x") for i in range(10)]
    report = _report(spark, rows)
    outcome = report.outcome("not_null_note")
    assert not outcome.passed and not outcome.critical
    assert outcome.metadata["observed_completeness"] == pytest.approx(0.3)
    assert report.blocking_failures == []


def test_wrong_type_is_schema_drift_and_its_rules_fail(spark):
    report = _report(spark, GOOD_ROWS, transform=lambda df: df.withColumn("amount", F.col("amount").cast("double")))
    schema = report.outcome(SCHEMA_CHECK)
    assert not schema.passed
    assert schema.metadata["retyped"] == {"amount": "expected decimal(18,2), got double"}
    assert not report.outcome("min_amount").passed


def test_missing_and_extra_columns_are_schema_drift(spark):
    report = _report(spark, GOOD_ROWS, transform=lambda df: df.drop("status").withColumn("surprise", F.lit(1)))
    schema = report.outcome(SCHEMA_CHECK)
    assert schema.metadata["missing"] == ["status"] and schema.metadata["extra"] == ["surprise"]
    assert not report.outcome(NULLABILITY_CHECK).passed
    assert report.outcome("allowed_values_status").metadata["error"].startswith("column status is missing")


def _jobs_for(spark, group: str, action, monkeypatch) -> int:
    """Spark jobs `action` runs; on Spark Connect, the plans it sends the server (which owns the jobs)."""
    if ON_JVM:
        context = spark.sparkContext
        context.setJobGroup(group, group)
        try:
            action()
        finally:
            context.setLocalProperty("spark.jobGroup.id", None)
        return len(context.statusTracker().getJobIdsForGroup(group))
    sent = []
    send = spark.client._execute_and_fetch_as_iterator  # every query's plan goes through here
    with monkeypatch.context() as patch:
        patch.setattr(spark.client, "_execute_and_fetch_as_iterator", lambda *a, **k: (sent.append(1), send(*a, **k))[1])
        action()
    return len(sent)


def test_rules_are_evaluated_in_one_pass_not_one_job_per_rule(spark, monkeypatch):
    """Adding rules must not add Spark jobs: the row rules are one aggregation, the key one grouping."""
    few = parse_contract({**CONTRACT.model_dump(by_alias=True), "quality": CONTRACT.model_dump()["quality"][:1]}, "t")
    df = with_audit_columns(spark.createDataFrame(GOOD_ROWS, SCHEMA), CONTRACT, datetime.now(UTC)).cache()
    df.count()
    jobs_few = _jobs_for(spark, "few-rules", lambda: evaluate_contract(df, few), monkeypatch)
    jobs_all = _jobs_for(spark, "all-rules", lambda: evaluate_contract(df, CONTRACT), monkeypatch)
    # one aggregation and one grouping (the key, which the unique rule shares): a job per adaptive
    # query stage of each (5 here), whatever the number of rules
    assert len(CONTRACT.quality) == 5 and jobs_all == jobs_few <= 6
