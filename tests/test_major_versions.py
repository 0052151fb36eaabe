"""Two major versions of a product side by side: release, deprecation warnings, sunset, retirement."""

from __future__ import annotations

import shutil
import types
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, materialize
from deltalake import DeltaTable
from typer.testing import CliRunner

from domains.sales import transforms as sales_transforms
from mesh_platform.cli import app
from mesh_platform.contracts import ContractError, load_contract, load_domain_contracts
from mesh_platform.contracts.lifecycle import today
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.contracts.odcs import from_odcs, odcs_schema_errors, to_odcs
from mesh_platform.mesh import domains_dir

CLV, CLV_V2 = "sales.customer_lifetime_value", "sales.customer_lifetime_value_v2"
WATCHLIST = {
    "name": "customer_watchlist", "domain": "sales", "version": "1.0.0", "owner": "team:sales",
    "description": "Platinum customers to call this week.", "primary_key": ["customer_id"],
    "tags": ["customer"], "dependencies": [{"product": CLV}], "sla": {"freshness_hours": 24},
    "schema": [
        {"name": "customer_id", "type": "string", "nullable": False, "description": "Customer key"},
        {"name": "segment", "type": "string", "nullable": False, "description": "Segment (v1 name)"},
    ],
}


def _transforms() -> types.ModuleType:
    module = types.ModuleType("sales_release_transforms")
    module.orders = sales_transforms.orders
    module.order_analytics = sales_transforms.order_analytics
    module.customer_lifetime_value = sales_transforms.customer_lifetime_value
    # v2's breaking change: `segment` renamed to `value_tier`
    module.customer_lifetime_value_v2 = lambda ctx: sales_transforms.customer_lifetime_value(ctx).withColumnRenamed(
        "segment", "value_tier")
    module.customer_watchlist = lambda ctx: ctx.product(CLV).where("segment = 'platinum'").select(
        "customer_id", "segment")
    return module


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "220"})


def _unpartitioned_orders(domain: Path) -> None:
    """These tests build the whole domain in one partition-less run (Dagster's `materialize`): sales.orders
    without its partitioning (tests/test_partitions.py covers the partitioned build)."""
    contract = domain / "contracts" / "orders.yaml"
    kept = [line for line in contract.read_text().splitlines(keepends=True) if not line.startswith("partitioning:")]
    contract.write_text("".join(kept))


@pytest.fixture
def released(tmp_path, seeded_lake, monkeypatch):
    """A copy of the sales domain where customer_lifetime_value 2.0.0 was released next to 1.0.0."""
    root, lake = tmp_path / "domains", tmp_path / "lake"
    shutil.copytree(domains_dir() / "sales", root / "sales", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    _unpartitioned_orders(root / "sales")
    shutil.copytree(seeded_lake / "sales" / "bronze", lake / "sales" / "bronze")
    monkeypatch.setenv("MESH_LAKE_ROOT", str(lake))
    contracts = root / "sales" / "contracts"
    (contracts / "customer_watchlist.yaml").write_text(yaml.safe_dump(WATCHLIST, sort_keys=False))
    sunset = today() + timedelta(days=30)

    result = _cli("release", CLV, "--sunset", sunset.isoformat(), "--note", "segment is now value_tier",
                  "--domains-dir", str(root))
    assert result.exit_code == 0, result.output
    assert "add `def customer_lifetime_value_v2(ctx)`" in result.output
    v2_file = contracts / "customer_lifetime_value.yaml"
    v2_file.write_text(v2_file.read_text().replace("segment", "value_tier"))  # the breaking change
    return types.SimpleNamespace(root=root, lake=lake, contracts=contracts, sunset=sunset)


def test_release_keeps_the_old_major_deprecated_in_its_own_file(released):
    old = load_contract(released.contracts / "customer_lifetime_value.v1.yaml")
    new = load_contract(released.contracts / "customer_lifetime_value.yaml")
    assert (old.version, old.key, old.asset_name) == ("1.0.0", CLV, "customer_lifetime_value")
    assert (old.deprecation.sunset, old.deprecation.successor) == (released.sunset, CLV_V2)
    assert (new.version, new.key, new.deprecation) == ("2.0.0", CLV_V2, None)
    assert "value_tier" in [c.name for c in new.columns]
    # the deprecated file keeps the author's comments and layout: only the deprecation block is new
    original = (domains_dir() / "sales" / "contracts" / "customer_lifetime_value.yaml").read_text()
    assert (released.contracts / "customer_lifetime_value.v1.yaml").read_text().startswith(original)

    again = _cli("release", CLV, "--sunset", released.sunset.isoformat(), "--domains-dir", str(released.root))
    assert again.exit_code == 2  # 1.x already superseded; 2.x is the current contract now
    past = _cli("release", CLV_V2, "--sunset", "2020-01-01", "--domains-dir", str(released.root))
    assert past.exit_code == 2 and "must be after today" in past.output


def test_both_majors_are_built_side_by_side_and_consumers_of_the_old_one_are_warned(released, spark):
    from mesh_platform.access.audit import reads
    from mesh_platform.catalog.entries import catalog_entries
    from mesh_platform.catalog.site import product_page
    from mesh_platform.governance import lint_domain
    from mesh_platform.product.domain import domain_definitions
    from mesh_platform.storage.layout import product_path

    defs = domain_definitions(released.root / "sales", _transforms())
    graph = defs.resolve_asset_graph()
    old, new = AssetKey(["sales", "customer_lifetime_value"]), AssetKey(["sales", "customer_lifetime_value_v2"])
    assert graph.get(old).tags["mesh/lifecycle"] == "deprecated"
    assert graph.get(new).tags["mesh/lifecycle"] == "active"
    assert graph.get(old).description.startswith(f"**Deprecated.** {CLV} 1.0.0 is deprecated: built until its sunset")
    assert old in graph.get(AssetKey(["sales", "customer_watchlist"])).parent_keys

    instance = DagsterInstance.ephemeral()
    result = materialize(list(defs.assets), resources=defs.resources, instance=instance)
    assert result.success
    v1 = DeltaTable(str(product_path(released.lake, "sales", "customer_lifetime_value")))
    v2 = DeltaTable(str(product_path(released.lake, "sales", "customer_lifetime_value_v2")))
    assert "segment" in v1.schema().to_arrow().names and "value_tier" not in v1.schema().to_arrow().names
    assert "value_tier" in v2.schema().to_arrow().names and "segment" not in v2.schema().to_arrow().names
    assert (v1.history(1)[0]["product.version"], v2.history(1)[0]["product.version"]) == ("1.0.0", "2.0.0")
    assert v1.to_pyarrow_table().num_rows == v2.to_pyarrow_table().num_rows > 0

    notice = (f"{CLV} 1.0.0 is deprecated: built until its sunset on {released.sunset}; "
              f"move to {CLV_V2} (segment is now value_tier)")
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == 30]  # logging.WARNING
    assert f"sales.customer_watchlist consumes a deprecated version: {notice}" in warnings
    watch = result.asset_materializations_for_node("sales__customer_watchlist")[0]
    assert watch.metadata["deprecated_sources"].value == {CLV: notice}
    (event,) = [e for e in reads(released.lake, CLV) if e.read_by == "sales.customer_watchlist"]
    assert event.deprecation == notice
    assert all(e.deprecation is None for e in reads(released.lake, CLV_V2))

    usage = _cli("usage")
    assert usage.exit_code == 0 and "Deprecated versions still read" in usage.output
    assert "sales.customer_watchlist" in usage.output.split("Deprecated versions still read")[1]
    contracts = {c.key: c for c in load_domain_contracts(released.root / "sales")}
    entries = {e.product: e for e in catalog_entries(contracts, instance, released.lake)}
    assert (entries[CLV].lifecycle, entries[CLV].notice, entries[CLV_V2].lifecycle) == ("deprecated", notice, "active")
    assert entries[CLV].used_by == ["sales.customer_watchlist"] and entries[CLV_V2].freshness == "fresh"
    assert f"<b>Deprecated.</b> {notice}" in product_page(contracts[CLV], entries[CLV])
    lint = [v for v in lint_domain(released.root / "sales") if v.rule == "DEPRECATION-001"]
    assert [(v.product, v.severity, v.message) for v in lint] == [("sales.customer_watchlist", "WARNING", notice)]


def test_after_the_sunset_the_old_major_is_retired_and_its_consumers_fail(released, spark):
    from mesh_platform.product.domain import domain_definitions
    from mesh_platform.storage.layout import product_path

    instance = DagsterInstance.ephemeral()
    defs = domain_definitions(released.root / "sales", _transforms())
    assert materialize(list(defs.assets), resources=defs.resources, instance=instance).success
    old_file = released.contracts / "customer_lifetime_value.v1.yaml"
    yesterday = today() - timedelta(days=1)
    old_file.write_text(old_file.read_text().replace(released.sunset.isoformat(), yesterday.isoformat()))

    defs = domain_definitions(released.root / "sales", _transforms())
    old = defs.resolve_asset_graph().get(AssetKey(["sales", "customer_lifetime_value"]))
    assert not old.is_executable and old.tags["mesh/lifecycle"] == "retired"
    assert old.description.startswith(f"**Retired.** {CLV} 1.0.0 was retired on {yesterday} and is no longer built")
    executable = {k.to_user_string() for k in defs.resolve_asset_graph().executable_asset_keys}
    assert {"sales/customer_lifetime_value_v2", "sales/customer_watchlist"} <= executable
    assert "sales/customer_lifetime_value" not in executable

    version = DeltaTable(str(product_path(released.lake, "sales", "customer_lifetime_value"))).version()
    result = materialize(list(defs.assets), resources=defs.resources, instance=instance, raise_on_error=False)
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["sales__customer_watchlist"]
    assert f"{CLV} 1.0.0 was retired on {yesterday}" in failures[0].step_failure_data.error.message
    assert f"move to {CLV_V2}" in failures[0].step_failure_data.error.message
    # the retired table keeps its last version, readable; the new major goes on publishing
    assert DeltaTable(str(product_path(released.lake, "sales", "customer_lifetime_value"))).version() == version
    assert DeltaTable(str(product_path(released.lake, "sales", "customer_lifetime_value_v2"))).version() == 1


# --- contract errors and interoperability -----------------------------------------------------------

def _clv(**changes) -> dict:
    data = yaml.safe_load((domains_dir() / "sales" / "contracts" / "customer_lifetime_value.yaml").read_text())
    return {**data, **changes}


@pytest.mark.parametrize("name, data, message", [
    ("customer_lifetime_value.v1.yaml", _clv(),
     "customer_lifetime_value.v1.yaml: deprecation: customer_lifetime_value.v1.yaml is for a major of "
     "customer_lifetime_value superseded by a newer one"),
    ("customer_lifetime_value.yaml", _clv(deprecation={"sunset": "2027-01-31", "successor": CLV_V2}),
     "customer_lifetime_value.yaml: deprecation.successor: the current contract of customer_lifetime_value "
     "cannot be superseded"),
    ("customer_lifetime_value.v1.yaml", _clv(deprecation={"sunset": "2027-01-31", "successor": "sales.orders_v2"}),
     "deprecation.successor: 'sales.orders_v2' must be a later major of this product, "
     "e.g. sales.customer_lifetime_value_v2"),
    ("customer_lifetime_value.v1.yaml", _clv(deprecation={"sunset": "next spring"}),
     "deprecation.sunset: Input should be a valid date"),
])
def test_a_misplaced_or_malformed_deprecation_names_file_field_and_fix(tmp_path, name, data, message):
    path = tmp_path / "sales" / "contracts" / name
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_a_successor_the_domain_does_not_publish_fails_the_load(tmp_path):
    from mesh_platform.product.domain import domain_definitions

    shutil.copytree(domains_dir() / "sales", tmp_path / "sales", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    contracts = tmp_path / "sales" / "contracts"
    (contracts / "customer_lifetime_value.yaml").rename(contracts / "customer_lifetime_value.v1.yaml")
    path = contracts / "customer_lifetime_value.v1.yaml"
    path.write_text(path.read_text() + f"deprecation: {{sunset: 2099-01-01, successor: {CLV_V2}}}\n")
    with pytest.raises(ContractError, match=f"deprecation.successor: {CLV_V2} is not published by this domain"):
        domain_definitions(tmp_path / "sales", _transforms())


def test_odcs_carries_the_deprecation_and_round_trips():
    contract = parse_contract(_clv(deprecation={"sunset": "2099-01-31", "successor": CLV_V2, "note": "renamed"}),
                              "customer_lifetime_value.v1.yaml")
    document = to_odcs(contract)
    assert odcs_schema_errors(document) == []
    assert document["status"] == "deprecated"
    assert from_odcs(document, "doc.yaml") == contract
    v2 = parse_contract(_clv(version="2.0.0"), "customer_lifetime_value.yaml")
    exported = to_odcs(v2, lake_root=Path("/lake"))
    assert exported["schema"][0]["physicalName"] == exported["schema"][0]["name"] == "customer_lifetime_value_v2"
    assert exported["servers"][0]["path"] == "/lake/sales/gold/customer_lifetime_value_v2"
