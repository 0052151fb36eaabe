"""Catalog-grade Dagster metadata on the sample mesh's definitions, as Atlan's and DataHub's Dagster
integrations read it: the table name, and the contract's constraints and tags in the column schema."""

from __future__ import annotations

import importlib

from dagster import AssetKey

from mesh_platform.mesh import all_contracts, domain_names


def _product_specs():
    contracts = all_contracts()
    specs = {}
    for domain in domain_names():
        defs = importlib.import_module(f"domains.{domain}.definitions").defs
        specs |= {s.key: s for s in defs.resolve_all_asset_specs()}
    return [(c, specs[AssetKey([c.domain, c.asset_name])]) for c in contracts.values()]


def test_every_product_definition_names_its_table_and_carries_the_contract_constraints():
    required = non_nullable = 0
    for contract, spec in _product_specs():
        assert spec.metadata["dagster/table_name"] == contract.key  # before any run
        schema = spec.metadata["dagster/column_schema"]
        columns = {c.name: c for c in schema.columns}
        for declared in contract.columns:
            column = columns[declared.name]
            assert column.constraints.nullable is declared.nullable, f"{contract.key}.{declared.name}"
            assert column.tags["classification"] == declared.classification
            assert ("pii" in column.tags) is declared.pii
            required += not declared.nullable
            non_nullable += not declared.nullable and column.constraints.nullable is False
        unique_rules = {r.column for r in contract.quality if r.rule == "unique"}
        for name in unique_rules | (set(contract.primary_key) if len(contract.primary_key) == 1 else set()):
            assert columns[name].constraints.unique, f"{contract.key}.{name}"
        assert all("primary key" in columns[k].constraints.other for k in contract.primary_key)
        if contract.primary_key:
            assert schema.constraints.other == [f"primary key ({', '.join(contract.primary_key)})"]
        assert columns["_computed_at"].constraints.nullable is False  # every build sets it
    assert required >= 70 and non_nullable == required  # issue 19: 76 required columns in the sample mesh


def test_the_sample_mesh_tags_its_pii_columns():
    tagged = {f"{c.key}.{col.name}" for c, spec in _product_specs()
              for col in spec.metadata["dagster/column_schema"].columns if col.tags.get("pii") == "true"}
    declared = {f"{c.key}.{col.name}" for c, _ in _product_specs() for col in c.columns if col.pii}
    assert tagged == declared and declared


def test_a_publish_records_valid_sql_and_the_contract_constraints(lake_root, instance, spark):
    import pyarrow as pa
    from dagster import materialize
    from pyspark.sql import functions as F

    from mesh_platform.contracts.loader import parse_contract
    from mesh_platform.product.factory import bronze_spec, product_asset
    from mesh_platform.product.resources import platform_resources
    from mesh_platform.storage import bronze_path, write_arrow

    contract = parse_contract(
        {"name": "parcels", "domain": "depot", "version": "1.0.0", "owner": "team:depot", "description": "parcels",
         "primary_key": ["parcel_id"], "sources": ["parcels"], "sla": {"freshness_hours": 1},
         "schema": [{"name": "parcel_id", "type": "string", "nullable": False, "description": "Parcel key"},
                    {"name": "zone", "type": "string", "classification": "confidential", "description": "Delivery zone"}]},
        "parcels.yaml",
    )
    write_arrow(pa.table({"parcel_id": ["p1", "p2"], "zone": ["north", None]}), bronze_path(lake_root, "depot", "parcels"))
    assets = [bronze_spec("depot", "parcels", "team:depot"),
              product_asset(contract, lambda ctx: ctx.source("parcels").select(F.col("parcel_id"), F.col("zone")))]
    result = materialize(assets, resources=platform_resources("depot"), instance=instance, selection=["depot/parcels"])
    metadata = next(iter(result.get_asset_materialization_events())).materialization.metadata
    assert metadata["Query"].value == "SELECT * FROM depot.parcels"  # was SELECT * FROM depot/gold.parcels
    assert metadata["dagster/table_name"].value == "depot.parcels"
    columns = {c.name: c for c in metadata["dagster/column_schema"].value.columns}
    assert columns["parcel_id"].constraints.nullable is False and columns["parcel_id"].constraints.unique
    assert columns["zone"].constraints.nullable is True and columns["zone"].tags == {"classification": "confidential"}
