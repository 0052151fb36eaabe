"""Sources as observed assets: declarations, Delta and landed-files sources, drift, builds that read them.

Real Delta tables and files in a temporary lake, a real Spark session, real Dagster runs; domains built
from temporary domain folders with `domain_definitions`, as a domain's definitions.py does.
"""

from __future__ import annotations

import json
import shutil
import types
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, materialize
from dagster._core.definitions.observe import observe
from deltalake import DeltaTable

from mesh_platform.mesh import domain_sources, domains_dir
from mesh_platform.product.domain import domain_definitions
from mesh_platform.sources import SourceError, parse_sources
from mesh_platform.sources.assets import SOURCE_CHECK
from mesh_platform.sources.observe import observe_source
from mesh_platform.storage import bronze_path, product_path, write_arrow

ORDER_COLUMNS = {"o_orderkey": "bigint", "o_custkey": "bigint", "o_orderstatus": "string",
                 "o_totalprice": "decimal(15,2)", "o_orderdate": "date", "o_comment": "string"}


# --- declarations ------------------------------------------------------------------------------------------

ORDERS = {"name": "orders", "kind": "delta", "columns": {"o_orderkey": "bigint", "o_orderdate": "date"}}


@pytest.mark.parametrize("sources, field, problem", [
    ([{**ORDERS, "kind": "kafka"}], "sources[0].kind", "'kafka' is not a source kind; use delta, files or jdbc"),
    ([{k: v for k, v in ORDERS.items() if k != "columns"}], "sources[0].columns", "is required but missing"),
    ([{**ORDERS, "columns": {"o_orderkey": "money"}}], "sources[0].columns", "o_orderkey: type 'money' is unknown"),
    ([{**ORDERS, "kind": "jdbc", "jdbc": {"url": "postgresql://sales:s3cret@127.0.0.1:5432/sales", "table": "orders",
                                          "user_env": "SALES_PG_USER", "password_env": "SALES_PG_PASSWORD"}}],
     "sources[0].jdbc.url", "credentials never go in the URL; name them in user_env and password_env"),
    ([{**ORDERS, "freshness": {"max_age_hours": 24, "loaded_at_field": "loaded_at"}}],
     "sources[0]", "freshness.loaded_at_field 'loaded_at' is not one of its columns"),
    ([ORDERS, ORDERS], None, "source 'orders' is declared twice"),
    ([{**ORDERS, "kind": "files", "files": {"path": "landing/orders"}}], "sources[0].files.format",
     "is required but missing"),
], ids=["unknown kind", "no columns", "bad type", "password in url", "loaded_at not a column", "twice", "no format"])
def test_each_malformed_declaration_fails_the_code_location_in_one_line_naming_file_and_field(
    tmp_path, sources, field, problem
):
    from domains.sales import transforms

    shutil.copytree(domains_dir() / "sales", tmp_path / "sales", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "sales" / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}))
    with pytest.raises(SourceError) as error:
        domain_definitions(tmp_path / "sales", transforms)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: {field + ': ' if field else ''}{problem}"), message
    assert "s3cret" not in message  # a password written into the URL is never repeated


# --- delta ------------------------------------------------------------------------------------------------

def _parcels(n: int, landed_on: date) -> pa.Table:
    return pa.table({"parcel_id": [f"p{i}" for i in range(n)], "weight": pa.array(range(n), pa.decimal128(10, 2)),
                     "landed_on": [landed_on] * n})


PARCELS_SOURCE = {"name": "parcels", "kind": "delta", "description": "Parcels scanned at the gate.",
                  "columns": {"parcel_id": "string", "weight": "decimal(10,2)", "landed_on": "date"},
                  "freshness": {"max_age_hours": 24, "loaded_at_field": "landed_on"}}


def test_a_delta_source_is_observed_from_its_log_alone(tmp_path):
    lake = tmp_path / "lake"
    source = parse_sources({"sources": [PARCELS_SOURCE]}, "sources.yaml")["parcels"]
    write_arrow(_parcels(3, date(1998, 8, 1)), bronze_path(lake, "depot", "parcels"))
    first = observe_source(source, "depot", lake)
    assert (first.data_version, first.row_count, first.problems) == ("0", 3, [])
    assert first.columns == {"parcel_id": "string", "weight": "decimal(10,2)", "landed_on": "date"}
    assert first.newest_data_time == 901929600.0  # 1998-08-01T00:00Z, the max of landed_on in the log's stats

    write_arrow(_parcels(5, date(1998, 8, 2)), bronze_path(lake, "depot", "parcels"))  # a new Delta commit
    second = observe_source(source, "depot", lake)
    assert (second.data_version, second.row_count, second.newest_data_time) == ("1", 5, 901929600.0 + 86400)
    # No data file is read: with every Parquet file of the table unreadable, the observation is the same.
    for data_file in bronze_path(lake, "depot", "parcels").glob("*.parquet"):
        data_file.write_bytes(b"not parquet")
    assert observe_source(source, "depot", lake) == second


def test_every_declared_source_is_an_observable_asset_of_its_domain_with_its_check(seeded_lake, instance):
    from domains.sales.definitions import defs

    graph = defs.resolve_asset_graph()
    declared = domain_sources("sales")
    assert declared and {k for k in graph.get_all_asset_keys() if k.path[1:2] == ["bronze"]} == {
        AssetKey(["sales", "bronze", name]) for name in declared}
    for name, source in declared.items():
        node = graph.get(AssetKey(["sales", "bronze", name]))
        assert node.is_observable and not node.is_materializable
        assert (node.group_name, node.owners, node.kinds) == ("sales", ["team:sales"], {"delta"})
        assert AssetCheckKey(node.key, SOURCE_CHECK) in node.check_keys
        assert [c.name for c in node.metadata["dagster/column_schema"].columns] == list(source.columns)

    orders = AssetKey(["sales", "bronze", "orders"])
    result = observe([defs.get_assets_def(orders)], instance=instance, resources=defs.resources)
    assert result.success
    table = DeltaTable(str(bronze_path(seeded_lake, "sales", "orders")))
    record = instance.get_latest_data_version_record(orders)
    observed = record.asset_observation
    assert observed.tags["dagster/data_version"] == str(table.version())
    assert observed.metadata["dagster/row_count"].value == table.to_pyarrow_table().num_rows
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == (SOURCE_CHECK, True)


# --- a temporary domain reading its sources -------------------------------------------------------------

def _product(name: str, source: str, columns: dict[str, str]) -> dict:
    return {"name": name, "domain": "depot", "version": "1.0.0", "owner": "team:depot",
            "description": f"{name} of the depot", "primary_key": [next(iter(columns))], "sources": [source],
            "sla": {"freshness_hours": 24},
            "schema": [{"name": c, "type": t, "nullable": i > 0, "description": c}
                       for i, (c, t) in enumerate(columns.items())]}


def _depot(tmp_path, sources: list[dict], products: dict[str, tuple[str, dict[str, str]]]):
    """A domain folder `depot` with `sources` and one product per entry (name -> (source, columns)) that
    selects those columns of its source; returns its Definitions."""
    folder = tmp_path / "domains" / "depot"
    (folder / "contracts").mkdir(parents=True)
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    transforms = types.ModuleType("depot_transforms")
    for name, (source, columns) in products.items():
        (folder / "contracts" / f"{name}.yaml").write_text(yaml.safe_dump(_product(name, source, columns)))
        setattr(transforms, name, lambda ctx, s=source, c=list(columns): ctx.source(s).select(*c))
    return domain_definitions(folder, transforms)


def _run(defs, keys: list[str], instance):
    assets = [defs.get_assets_def(AssetKey(["depot", k])) for k in keys]
    sources = [defs.get_assets_def(k) for k in defs.resolve_asset_graph().get_all_asset_keys() if "bronze" in k.path]
    return materialize([*assets, *sources], selection=[AssetKey(["depot", k]) for k in keys],
                       resources=defs.resources, instance=instance, raise_on_error=False)


def _failure(result) -> str:
    """The failed step's error with its causes (an input that fails to load is the cause of Dagster's error)."""
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    error, messages = failure.step_failure_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


@pytest.fixture
def depot_lake(tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))  # platform resources bind it when built
    return tmp_path / "lake"


def test_schema_drift_fails_the_source_check_and_any_build_reading_it(tmp_path, depot_lake, spark):
    instance = DagsterInstance.ephemeral()
    defs = _depot(tmp_path, [PARCELS_SOURCE], {"parcel_weights": ("parcels", {"parcel_id": "string",
                                                                               "weight": "decimal(10,2)"})})
    parcels = AssetKey(["depot", "bronze", "parcels"])
    node = defs.resolve_asset_graph().get(parcels)
    assert node.freshness_policy.fail_window.to_timedelta().total_seconds() == 24 * 3600
    write_arrow(_parcels(4, date(1998, 8, 1)), bronze_path(depot_lake, "depot", "parcels"))
    assert _run(defs, ["parcel_weights"], instance).success
    published = DeltaTable(str(product_path(depot_lake, "depot", "parcel_weights"))).version()

    drifted = _parcels(4, date(1998, 8, 2)).set_column(1, "weight", pa.array(["1 kg"] * 4))
    write_arrow(drifted, bronze_path(depot_lake, "depot", "parcels"))
    observed = observe([defs.get_assets_def(parcels)], instance=instance, resources=defs.resources)
    (check,) = observed.get_asset_check_evaluations()
    assert not check.passed and check.description == "column weight is string, declared decimal(10,2)"
    assert check.metadata["problems"].value == ["column weight is string, declared decimal(10,2)"]

    build = _run(defs, ["parcel_weights"], instance)
    assert not build.success
    message = _failure(build)
    assert "source depot.parcels no longer fits its declaration" in message
    assert "column weight is string, declared decimal(10,2)" in message
    assert DeltaTable(str(product_path(depot_lake, "depot", "parcel_weights"))).version() == published


# --- files ------------------------------------------------------------------------------------------------

def _land(orders: pa.Table, folder, fmt: str, parts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-orders.num_rows // parts)
    for i in range(parts):
        chunk = orders.slice(i * step, step)
        if fmt == "parquet":
            pq.write_table(chunk, folder / f"orders-{i}.parquet")
        elif fmt == "csv":
            pa_csv.write_csv(chunk, folder / f"orders-{i}.csv")
        else:  # JSON lines; decimals as JSON numbers, dates as ISO text
            (folder / f"orders-{i}.json").write_text("".join(
                json.dumps({k: float(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v
                            for k, v in row.items()}) + "\n" for row in chunk.to_pylist()))


def _files(name: str, fmt: str) -> dict:
    return {"name": name, "kind": "files", "columns": ORDER_COLUMNS,
            "files": {"path": f"landing/{fmt}", "glob": f"*.{fmt}", "format": fmt}}


@pytest.fixture
def landed(tmp_path, depot_lake, seeded_lake):
    """The sample's orders as a Delta source and landed as Parquet, CSV and JSON files, and a product of each."""
    orders = DeltaTable(str(bronze_path(seeded_lake, "sales", "orders"))).to_pyarrow_table(
        columns=list(ORDER_COLUMNS))
    write_arrow(orders, bronze_path(depot_lake, "depot", "orders"))
    _land(orders, depot_lake / "landing" / "parquet", "parquet", 3)
    _land(orders, depot_lake / "landing" / "csv", "csv", 2)
    _land(orders, depot_lake / "landing" / "json", "json", 2)
    sources = [{"name": "orders", "kind": "delta", "columns": ORDER_COLUMNS},
               _files("orders_parquet", "parquet"), _files("orders_csv", "csv"), _files("orders_json", "json")]
    defs = _depot(tmp_path, sources, {"orders_from_delta": ("orders", ORDER_COLUMNS),
                                      "orders_from_parquet": ("orders_parquet", ORDER_COLUMNS),
                                      "orders_from_csv": ("orders_csv", ORDER_COLUMNS),
                                      "orders_from_json": ("orders_json", ORDER_COLUMNS)})
    return defs, orders


def _published(lake, product: str) -> list[tuple]:
    table = DeltaTable(str(product_path(lake, "depot", product))).to_pyarrow_table(columns=list(ORDER_COLUMNS))
    return sorted(tuple(r.values()) for r in table.to_pylist())


def test_products_built_from_landed_parquet_csv_and_json_files_equal_the_same_data_as_delta(
    landed, depot_lake, tmp_path, monkeypatch
):
    defs, orders = landed
    instance = DagsterInstance.ephemeral()
    monkeypatch.setenv("MESH_OPENLINEAGE_FILE", str(tmp_path / "lineage.jsonl"))
    products = ["orders_from_delta", "orders_from_parquet", "orders_from_csv", "orders_from_json"]
    assert _run(defs, products, instance).success
    expected = sorted(tuple(r.values()) for r in orders.to_pylist())
    assert len(expected) > 1000
    for product in products:
        assert _published(depot_lake, product) == expected, product
    # Lineage names the landing folder and the file set's data version the build read.
    events = [json.loads(line) for line in (tmp_path / "lineage.jsonl").read_text().splitlines()]
    (start,) = [e for e in events if e["eventType"] == "START" and e["job"]["name"] == "depot.orders_from_parquet"]
    parquet = parse_sources({"sources": [_files("orders_parquet", "parquet")]}, "sources.yaml")["orders_parquet"]
    assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in start["inputs"]] == [
        (str(depot_lake / "landing" / "parquet"), observe_source(parquet, "depot", depot_lake).data_version)]

    observed = observe([defs.get_assets_def(AssetKey(["depot", "bronze", "orders_parquet"]))], instance=instance,
                       resources=defs.resources)
    obs = instance.get_latest_data_version_record(AssetKey(["depot", "bronze", "orders_parquet"])).asset_observation
    assert observed.success and obs.metadata["dagster/row_count"].value == orders.num_rows  # from the footers
    before = obs.tags["dagster/data_version"]
    _land(orders.slice(0, 10), depot_lake / "landing" / "parquet" / "sub", "parquet", 1)  # not matched: *.parquet
    pq.write_table(orders.slice(0, 10), depot_lake / "landing" / "parquet" / "orders-9.parquet")  # a new file
    observe([defs.get_assets_def(AssetKey(["depot", "bronze", "orders_parquet"]))], instance=instance,
            resources=defs.resources)
    after = instance.get_latest_data_version_record(AssetKey(["depot", "bronze", "orders_parquet"])).asset_observation
    assert after.tags["dagster/data_version"] != before
    assert after.metadata["dagster/row_count"].value == orders.num_rows + 10


def test_a_landed_file_that_does_not_parse_or_fit_is_named_and_nothing_is_published(landed, depot_lake):
    defs, orders = landed
    instance = DagsterInstance.ephemeral()
    assert _run(defs, ["orders_from_parquet", "orders_from_csv"], instance).success
    versions = {p: DeltaTable(str(product_path(depot_lake, "depot", p))).version()
                for p in ("orders_from_parquet", "orders_from_csv")}

    csv_folder, parquet_folder = depot_lake / "landing" / "csv", depot_lake / "landing" / "parquet"
    good_line = (csv_folder / "orders-0.csv").read_text().splitlines()[1]
    (csv_folder / "orders-7.csv").write_text((csv_folder / "orders-0.csv").read_text().splitlines()[0] + "\n"
                                             + good_line + "\n" + good_line.replace(good_line.split(",")[0], "x1", 1))
    shutil.copyfile(csv_folder / "orders-0.csv", csv_folder / "orders-8.csv")  # a good late file
    pq.write_table(orders.slice(0, 5).set_column(3, "o_totalprice", pa.array(["12.50"] * 5)),
                   parquet_folder / "orders-7.parquet")
    (parquet_folder / "orders-8.parquet").write_bytes(b"PAR1 truncated upload")

    build = _run(defs, ["orders_from_csv"], instance)
    message = _failure(build)
    assert not build.success and "source depot.orders_csv: nothing read, 1 of 4 files" in message
    assert "file orders-7.csv: does not parse as csv" in message and "orders-8.csv" not in message
    build = _run(defs, ["orders_from_parquet"], instance)
    message = _failure(build)
    assert "source depot.orders_parquet: nothing read, 2 of 5 files" in message
    assert "file orders-7.parquet: column o_totalprice is string, declared decimal(15,2)" in message
    assert "file orders-8.parquet: does not parse as parquet" in message
    for product, version in versions.items():  # nothing published: the previous versions stay current
        assert DeltaTable(str(product_path(depot_lake, "depot", product))).version() == version

    observed = observe([defs.get_assets_def(AssetKey(["depot", "bronze", "orders_parquet"]))], instance=instance,
                       resources=defs.resources)
    (check,) = observed.get_asset_check_evaluations()
    drifted, unreadable = check.description.splitlines()  # the source shows it before any build reads it
    assert not check.passed
    assert drifted == "file orders-7.parquet: column o_totalprice is string, declared decimal(15,2)"
    assert unreadable.startswith("file orders-8.parquet does not parse as parquet")


def test_a_files_source_is_observed_from_names_sizes_times_and_footers(tmp_path):
    import os

    declared = {**PARCELS_SOURCE, "kind": "files"}
    parquet = parse_sources({"sources": [{**declared, "files": {"path": "in", "glob": "*.parquet",
                                                                 "format": "parquet"}}]}, "s.yaml")["parcels"]
    csv_source = parse_sources({"sources": [{**declared, "files": {"path": "in", "glob": "*.csv",
                                                                    "format": "csv"}}]}, "s.yaml")["parcels"]
    (tmp_path / "in").mkdir()
    pq.write_table(_parcels(3, date(1998, 8, 1)), tmp_path / "in" / "a.parquet")
    pq.write_table(_parcels(2, date(1998, 8, 3)), tmp_path / "in" / "b.parquet")
    pa_csv.write_csv(_parcels(2, date(1998, 8, 2)), tmp_path / "in" / "a.csv")
    (tmp_path / "in" / "_c.parquet").write_bytes(b"landing in progress")  # skipped until renamed

    first = observe_source(parquet, "depot", tmp_path)
    assert (first.row_count, first.problems) == (5, [])  # from the footers
    assert first.newest_data_time == 901929600.0 + 2 * 86400  # 1998-08-03: the footers' max of landed_on
    assert observe_source(parquet, "depot", tmp_path) == first
    os.utime(tmp_path / "in" / "a.parquet", ns=(1, 1))  # the same bytes, landed again
    assert observe_source(parquet, "depot", tmp_path).data_version != first.data_version
    text = observe_source(csv_source, "depot", tmp_path)
    assert (text.row_count, text.newest_data_time, text.problems) == (None, 901929600.0 + 86400, [])
