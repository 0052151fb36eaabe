"""The read audit and usage: recorded for every platform read, shown in Dagster and by `mesh usage`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from dagster import AssetKey
from typer.testing import CliRunner

from mesh_platform.access import read_product
from mesh_platform.access.audit import reads, usage
from mesh_platform.cli import app
from mesh_platform.storage.delta import current_version
from mesh_platform.storage.layout import product_path

CLV = "sales.customer_lifetime_value"
CLV_KEY = AssetKey(["sales", "customer_lifetime_value"])


@pytest.fixture
def cli(dagster_home, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))  # the instance the UI would show
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def latest_usage(instance, key: AssetKey) -> dict:
    record = instance.fetch_observations(key, limit=1).records[0]
    return {k: v.value for k, v in record.asset_observation.metadata.items()}


def test_a_read_api_call_is_audited_exactly_and_shown_as_usage_on_the_asset(mesh_published, spark, instance, lake_root):
    before = reads(lake_root, CLV)
    df = read_product(CLV, "finance", columns=["customer_id", "customer_name"], spark=spark, instance=instance)
    after = reads(lake_root, CLV)
    assert len(after) == len(before) + 1
    event = after[-1]
    assert (event.product, event.consumer, event.via) == (CLV, "finance", "api")
    assert event.version == current_version(product_path(lake_root, "sales", "customer_lifetime_value"))
    assert event.columns == ["customer_id", "customer_name"] and event.masked == ["customer_name"]
    assert event.rows == df.count() > 0 and event.row_filter is None

    shown = latest_usage(instance, CLV_KEY)
    summary = usage(after)[CLV]
    assert shown["usage/read_count"] == summary.read_count == len(after)
    assert shown["usage/last_consumer"] == "finance"
    assert shown["usage/distinct_consumers"] == len(summary.consumers)
    assert set(shown["usage/consumers"].split(", ")) == {e.consumer for e in after}


def test_dagster_builds_audit_every_dependency_read_with_their_run(mesh_published, instance, lake_root):
    view = mesh_published["marketing.unified_customer_view"]
    by_run = [e for e in reads(lake_root) if e.run_id == view.run_id and e.read_by == "marketing.unified_customer_view"]
    assert {e.product for e in by_run} == {CLV, "marketing.customer_segments", "supply_chain.delivery_preferences"}
    clv_read = next(e for e in by_run if e.product == CLV)
    assert clv_read.via == "dagster" and clv_read.consumer == "marketing" and clv_read.masked == ["customer_name"]
    assert clv_read.rows == mesh_published[CLV].row_count
    assert "customer_name" in clv_read.columns and "_computed_at" in clv_read.columns
    observations = instance.fetch_observations(CLV_KEY, limit=200).records
    assert view.run_id in {o.run_id for o in observations}  # the usage observation belongs to the run


def test_mesh_read_prints_rows_as_the_consumer_sees_them_and_is_audited(mesh_published, spark, cli, lake_root):
    result = cli.invoke(app, ["read", CLV, "--as", "marketing", "--limit", "5", "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert len(printed) == 5 and all(row["customer_name"].endswith("****") for row in printed)
    event = reads(lake_root, CLV)[-1]
    assert (event.via, event.consumer, event.rows) == ("cli", "marketing", 5)

    table = cli.invoke(app, ["read", "finance.revenue_by_nation", "--as", "marketing", "--limit", "3"])
    assert table.exit_code == 0 and "row filter: region_name = 'EUROPE'" in table.stdout


def test_mesh_read_refuses_denied_and_bad_reads_in_one_line(mesh_published, cli):
    denied = cli.invoke(app, ["read", "finance.revenue_by_nation", "--as", "sales"])
    assert denied.exit_code == 3
    assert "denied: sales may not read finance.revenue_by_nation" in denied.output
    assert "ask its owner team:finance" in denied.output.replace("\n", " ")
    unknown = cli.invoke(app, ["read", "sales.nope", "--as", "marketing"])
    assert unknown.exit_code == 2 and "sales.nope is not a product of the mesh" in unknown.output
    column = cli.invoke(app, ["read", CLV, "--as", "marketing", "--columns", "customer_id,secret"])
    assert column.exit_code == 2 and "has no column secret" in column.output


def test_mesh_usage_summarises_the_audit(mesh_published, cli, lake_root):
    result = cli.invoke(app, ["usage", "--format", "json", "--reads", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    events = reads(lake_root)
    assert {u["product"]: u["read_count"] for u in report["usage"]} == Counter(e.product for e in events)
    assert {u["product"]: u["consumers"] for u in report["usage"]} == {
        p: sorted({e.consumer for e in events if e.product == p}) for p in {e.product for e in events}}
    assert len(report["reads"]) == 3
    human = cli.invoke(app, ["usage", "--product", CLV])
    assert CLV in human.stdout and "marketing" in human.stdout
