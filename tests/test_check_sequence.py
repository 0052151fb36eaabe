"""The check sequence of a build (checks/sequence.py) and its typed metric plan (checks/metrics.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from mesh_platform.checks import evaluate_contract
from mesh_platform.checks.metrics import Extreme, MetricPlan, NullCount, RowCount, RuleViolations
from mesh_platform.checks.sequence import check_build
from mesh_platform.governance.gate import PiiProbe
from mesh_platform.governance.policies import Policies, load_policy_file
from mesh_platform.product.materialize import with_audit_columns
from test_checks import CONTRACT, GOOD_ROWS, SCHEMA, _jobs_for

POLICIES = Policies(load_policy_file(Path(__file__).parents[1] / "governance" / "policies.yaml").rules)


def test_a_metric_asked_for_twice_is_computed_once_and_an_alias_clash_is_refused():
    min_rule = next(r for r in CONTRACT.quality if r.rule == "min")
    plan = MetricPlan([RowCount(), NullCount("note"), Extreme("amount", "min")])
    # the drift band and a required column's check both count the nulls of `note`, a min rule and the
    # band both read the least amount: one aggregate each
    plan.add(NullCount("note"))
    plan.add(Extreme("amount", "min"))
    assert [m.alias for m in plan] == ["rows", "nulls__note", "min__amount"]
    assert Extreme("amount", "min", as_date=True).alias != Extreme("amount", "min").alias
    plan.add(RuleViolations(min_rule, 0))
    with pytest.raises(ValueError, match="two metrics share the alias 'violations__min_amount'"):
        plan.add(RuleViolations(min_rule, 5))  # the same rule with another bound is another metric


def _persisted(spark, rows):
    df = spark.createDataFrame(rows, SCHEMA)
    return with_audit_columns(df, CONTRACT, datetime.now(UTC)).cache()


def _sequence(df, lake_root, **kwargs):
    return check_build(df, CONTRACT, policies=POLICIES, static=[], where="finance/contracts/payments.yaml",
                       lake_root=lake_root, read=[], history={}, **kwargs)


def test_the_sequence_decides_in_order_and_reads_every_value_through_its_metric(spark, lake_root):
    rows = [*GOOD_ROWS, ("p90", "open", Decimal(7), "mail ann.lee@example.com"),
            ("p91", "open", Decimal(8), "or bo.kim@mail.org"), ("p92", "paid", Decimal(9), "x@corp.io")]
    passes, df = [], _persisted(spark, rows)
    report, drift = _sequence(df, lake_root, after_pass=lambda: passes.append(1))
    names = [o.name for o in report.outcomes]
    assert names == ["contract_schema", "contract_row_count", "contract_nullability", "contract_primary_key",
                     "unique_payment_id", "allowed_values_status", "min_amount", "max_amount", "not_null_note",
                     "governance_report", "drift_schema", "drift_distribution"]
    assert passes == [1]  # one aggregation pass, after which the checks' time begins
    assert report.metrics[RowCount()] == 23
    assert report.metrics[NullCount("note")] == 6  # GOOD_ROWS: i % 3 == 0 has no note
    assert report.metrics[Extreme("amount", "max")] == Decimal(200)
    assert drift["drift/null_share/note"] == pytest.approx(6 / 23) and drift["drift/max/amount"] == 200.0
    probe = PiiProbe.for_frame(df, CONTRACT)
    assert probe.columns == ["payment_id", "note"]  # status: its values are enumerated
    assert report.metrics[probe.matches("note", "email")] == 3
    governance = report.outcome("governance_report")
    assert not governance.passed and governance.metadata["pii_findings"]["note"]["kind"] == "email"


def test_the_whole_sequence_adds_no_spark_job_to_the_contract_checks_own(spark, lake_root, monkeypatch):
    """The PII probe and the drift metrics ride in the contract's aggregation: the sequence runs the same
    jobs (one aggregation, one key grouping) as the contract checks alone, however many metrics it adds."""
    df = _persisted(spark, GOOD_ROWS)
    df.count()
    alone = _jobs_for(spark, "contract-alone", lambda: evaluate_contract(df, CONTRACT), monkeypatch)
    reports = []
    whole = _jobs_for(spark, "whole-sequence", lambda: reports.append(_sequence(df, lake_root)), monkeypatch)
    (report, _), = reports
    assert all(o.passed for o in report.outcomes), [o.name for o in report.outcomes if not o.passed]
    assert PiiProbe.for_frame(df, CONTRACT).metrics()  # the probe did add metrics to that one aggregation
    assert whole == alone


def test_the_gate_reports_what_only_it_sees_and_leaves_schema_nulls_and_keys_to_the_contract_checks(
        spark, lake_root):
    rows = [*GOOD_ROWS, ("p3", None, Decimal(5), "dup")]  # a duplicate key and a null status
    df = _persisted(spark, rows).withColumn("refund_amount", F.lit(1.5)).withColumn("paid_at", F.lit("today"))
    report, _ = _sequence(df, lake_root)
    failed = {o.name for o in report.outcomes if not o.passed}
    assert {"contract_schema", "contract_nullability", "contract_primary_key", "unique_payment_id"} <= failed
    violations = report.outcome("governance_report").metadata["violations"]
    # the extra columns break interoperability rules only the gate judges; their being extra, the null
    # and the duplicate key are the contract checks' findings, reported there alone
    assert {(v["rule"], v["field"]) for v in violations} == {("INTEROP-003", "refund_amount"),
                                                           ("INTEROP-001", "paid_at")}
    assert report.outcome("contract_schema").metadata["extra"] == ["paid_at", "refund_amount"]
