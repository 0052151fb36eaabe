"""Contract changes classified, and versions that must say what a change does (VERSION-001)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from mesh_platform.cli import app
from mesh_platform.contracts.diff import diff, version_problems
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.mesh import domains_dir

CLV_FILE = domains_dir() / "sales" / "contracts" / "customer_lifetime_value.yaml"
BASE = yaml.safe_load(CLV_FILE.read_text())


def column(data: dict, name: str) -> dict:
    return next(c for c in data["schema"] if c["name"] == name)


def rule(data: dict, kind: str, name: str) -> dict:
    return next(r for r in data["quality"] if r["rule"] == kind and r["column"] == name)


CHANGES = [
    # (what, edit, kind, breaking)
    ("column removed", lambda d: d["schema"].remove(column(d, "avg_order_value")), "column_removed", True),
    ("type changed", lambda d: column(d, "order_count").update(type="string"), "type_changed", True),
    ("type narrowed", lambda d: column(d, "total_revenue").update(type="decimal(12,2)"), "type_changed", True),
    ("type widened", lambda d: column(d, "order_count").update(type="bigint"), "type_widened", False),
    ("nullable to required", lambda d: column(d, "customer_name").update(nullable=False), "made_required", True),
    ("required to nullable", lambda d: column(d, "segment").update(nullable=True), "made_nullable", False),
    ("min raised", lambda d: rule(d, "min", "order_count").update(value=2), "constraint_tightened", True),
    ("min lowered", lambda d: rule(d, "min", "total_revenue").update(value=-10), "constraint_loosened", False),
    ("allowed values shrunk", lambda d: rule(d, "allowed_values", "segment").update(values=["gold", "silver"]),
     "constraint_tightened", True),
    ("allowed values grown", lambda d: rule(d, "allowed_values", "segment")["values"].append("iron"),
     "constraint_loosened", False),
    ("completeness raised", lambda d: rule(d, "not_null", "customer_name").update(threshold=1.0),
     "constraint_tightened", True),
    ("critical rule added", lambda d: d["quality"].append({"rule": "max", "column": "order_count", "value": 9999}),
     "constraint_added", True),
    ("rule removed", lambda d: d["quality"].remove(rule(d, "min", "order_count")), "constraint_removed", False),
    ("consumer removed", lambda d: d["access"]["consumers"].remove("finance"), "consumer_removed", True),
    ("consumer added", lambda d: d["access"]["consumers"].append("supply_chain"), "consumer_added", False),
    ("PII flag removed", lambda d: (column(d, "customer_name").update(pii=False), d["access"].pop("masking")),
     "pii_changed", True),
    ("classification lowered", lambda d: column(d, "customer_name").update(classification="internal"),
     "classification_lowered", True),
    ("SLA loosened", lambda d: d["sla"].update(freshness_hours=12), "sla_loosened", True),
    ("SLA tightened", lambda d: d["sla"].update(freshness_hours=2), "sla_tightened", False),
    ("nullable column added", lambda d: d["schema"].append({"name": "region", "type": "string"}), "column_added", False),
    ("required column added", lambda d: d["schema"].append({"name": "region", "type": "string", "nullable": False}),
     "required_column_added", True),
    ("description", lambda d: column(d, "segment").update(description="tier"), "description", False),
]


@pytest.mark.parametrize(("what", "edit", "kind", "breaking"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_change_is_classified(what, edit, kind, breaking):
    old = parse_contract(BASE, "old.yaml")
    data = copy.deepcopy(BASE)
    edit(data)
    changes = diff(old, parse_contract(data, "new.yaml"))
    assert [(c.kind, c.breaking) for c in changes if c.kind == kind] == [(kind, breaking)], changes
    assert any(c.breaking for c in changes) == breaking


def _bumped(version: str, edit) -> tuple:
    data = copy.deepcopy(BASE)
    edit(data)
    data["version"] = version
    old, new = parse_contract(BASE, "old.yaml"), parse_contract(data, "new.yaml")
    return version_problems(old, new, diff(old, new))


def test_the_version_must_match_the_change():
    removed = CHANGES[0][1]
    added = CHANGES[19][1]
    assert _bumped("1.1.0", removed) == [
        "breaking changes (column_removed) need a major version: 1.0.0 -> 2.0.0"]
    assert _bumped("2.0.0", removed) == []
    assert _bumped("1.0.1", added) == ["schema changes need at least a minor version: 1.0.0 -> 1.1.0"]
    assert _bumped("1.1.0", added) == []
    assert _bumped("1.0.0", CHANGES[-1][1]) == []  # documentation needs no bump
    assert _bumped("0.9.0", CHANGES[-1][1]) == ["version 0.9.0 is lower than the previous 1.0.0"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(domains_dir(), root / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "mesh"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))  # nothing published
    monkeypatch.setenv("COLUMNS", "250")
    return root


def test_lint_and_diff_refuse_a_breaking_change_without_a_major_version(repo):
    contract = repo / "domains" / "sales" / "contracts" / "customer_lifetime_value.yaml"
    text = contract.read_text()
    contract.write_text(text.replace("version: 1.0.0", "version: 1.1.0").replace(
        '  - {name: avg_order_value, type: "decimal(18,2)", nullable: false, description: "total_revenue / order_count"}\n',
        ""))
    runner, domains = CliRunner(), str(repo / "domains")
    lint = runner.invoke(app, ["lint", "--path", domains, "--base", "HEAD", "--format", "json"])
    assert lint.exit_code == 1
    found = [v for v in json.loads(lint.stdout)["violations"] if v["rule"] == "VERSION-001"]
    assert [v["message"] for v in found] == [
        "breaking changes (column_removed) need a major version: 1.0.0 -> 2.0.0 (against git HEAD)"]
    assert runner.invoke(app, ["lint", "--path", domains]).exit_code == 0  # no base: no version judgement

    report = runner.invoke(app, ["diff", "--path", domains, "--format", "json"])
    assert report.exit_code == 1
    (entry,) = [c for c in json.loads(report.stdout)["comparisons"] if c["changes"]]
    assert entry["product"] == "sales.customer_lifetime_value" and entry["against"] == "git HEAD"
    assert [(c["kind"], c["breaking"]) for c in entry["changes"]] == [("column_removed", True)]
    human = runner.invoke(app, ["diff", "--path", domains])
    assert "BREAKING" in human.stdout and "VERSION-001" in human.stdout

    contract.write_text(contract.read_text().replace("version: 1.1.0", "version: 2.0.0"))
    assert runner.invoke(app, ["lint", "--path", domains, "--base", "HEAD"]).exit_code == 0
    assert runner.invoke(app, ["diff", "--path", domains]).exit_code == 0
    bad = runner.invoke(app, ["diff", "--path", domains, "--base", "no-such-branch"])
    assert bad.exit_code == 2 and "'no-such-branch' is not a git revision" in bad.output


ITEMS = {
    "name": "items", "domain": "stock", "version": "1.0.0", "owner": "team:stock", "description": "Stock items",
    "primary_key": ["item_id"], "sources": ["items"], "sla": {"freshness_hours": 1},
    "schema": [{"name": "item_id", "type": "string", "nullable": False},
               {"name": "label", "type": "string"}],
}


def test_publish_records_the_contract_and_refuses_a_version_that_does_not_fit(lake_root, instance, spark):
    import pyarrow as pa
    from dagster import materialize
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from mesh_platform.product.factory import bronze_spec, product_asset
    from mesh_platform.product.resources import platform_resources
    from mesh_platform.storage import bronze_path, product_path, write_arrow

    write_arrow(pa.table({"item_id": ["a", "b"]}), bronze_path(lake_root, "stock", "items"))
    table = product_path(lake_root, "stock", "items")

    def publish(contract_data: dict):
        contract = parse_contract(contract_data, "items.yaml")
        columns = [c.name for c in contract.columns]
        asset = product_asset(contract, lambda ctx: ctx.source("items").withColumn("label", F.lit("x")).select(*columns))
        return materialize([bronze_spec("stock", "items", "team:stock"), asset], resources=platform_resources("stock"),
                           instance=instance, raise_on_error=False)

    assert publish(ITEMS).success
    commit = DeltaTable(str(table)).history(1)[0]
    assert json.loads(commit["product.contract"]) == parse_contract(ITEMS, "items.yaml").model_dump(by_alias=True, mode="json")
    assert (commit["product.owner"], commit["product.version"], commit["product.sla.freshness.hours"]) == (
        "team:stock", "1.0.0", "1")
    published = DeltaTable(str(table)).version()

    dropped = {**ITEMS, "schema": ITEMS["schema"][:1]}  # a column removed, version unchanged
    refused = publish(dropped)
    assert not refused.success and DeltaTable(str(table)).version() == published
    report = next(e for e in refused.get_asset_check_evaluations() if e.check_name == "governance_report")
    (violation,) = [v for v in report.metadata["violations"].value if v["rule"] == "VERSION-001"]
    assert violation["message"] == (
        f"breaking changes (column_removed) need a major version: 1.0.0 -> 2.0.0 (against published Delta v{published})")

    # A new major is a new table: the 1.x table stays as it was for its consumers.
    assert publish({**dropped, "version": "2.0.0"}).success
    assert DeltaTable(str(product_path(lake_root, "stock", "items_v2"))).history(1)[0]["product.version"] == "2.0.0"
    assert DeltaTable(str(table)).version() == published
    assert DeltaTable(str(table)).history(1)[0]["product.version"] == "1.0.0"
