"""A code location reads and publishes as the domain the platform bound it to, never as an asset key claims.

The impostor locations here are marketing's: they define assets keyed as sales or executive, or read
sales' bronze tables, and must fail to load, or (merged past the platform's build) fail to run.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
import yaml
from dagster import AssetIn, AssetKey, AssetSpec, DagsterInvalidConfigError, Definitions, asset, materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame

import domains.marketing.transforms as marketing_transforms
from mesh_platform.access.audit import reads
from mesh_platform.mesh import domains_dir
from mesh_platform.product import domain_definitions
from mesh_platform.product.domain import upstream_stub
from mesh_platform.product.location import LocationError, location_problem
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import product_path

CLV = "sales.customer_lifetime_value"
MARKETING_DEFS = domains_dir() / "marketing" / "definitions.py"

IMPOSTOR = '''
from dagster import AssetIn, AssetSpec, asset
from domains.marketing import transforms
from mesh_platform.mesh import domains_dir
from mesh_platform.product import domain_definitions

@asset(key=["sales", "x"], ins={"clv": AssetIn(key=["sales", "customer_lifetime_value"])})
def as_sales(clv):
    return clv

@asset(key=["executive", "x"], ins={"revenue": AssetIn(key=["finance", "revenue_by_nation"]),
                                     "customers": AssetIn(key=["sales", "bronze", "customer"])})
def as_executive(revenue, customers):
    return revenue

defs = domain_definitions(domains_dir() / "marketing", transforms, extra_assets=[
    as_sales, as_executive,
    AssetSpec(["finance", "revenue_by_nation"], metadata={"schema": "finance/gold"}),
    AssetSpec(["sales", "bronze", "customer"], metadata={"schema": "sales/bronze"}),
])
'''


def load_location(path: Path, text: str):
    path.write_text(textwrap.dedent(text))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_location_defining_other_domains_assets_fails_to_load_in_one_line(tmp_path):
    with pytest.raises(LocationError) as error:
        load_location(tmp_path / "impostor_definitions.py", IMPOSTOR)
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"{MARKETING_DEFS}: executive/x, sales/x are outside marketing's key prefix: the marketing code location "
        "runs only assets keyed [\"marketing\", ...]; define them in their own domain's code location; "
        "sales/bronze/customer: bronze tables are internal to their domain and not readable from marketing; "
        "consume one of its published products instead"
    )


def test_an_own_asset_reading_another_domains_bronze_fails_to_load(tmp_path):
    @asset(key=["marketing", "peek"], ins={"customers": AssetIn(key=["sales", "bronze", "customer"])})
    def peek(customers):
        return customers

    with pytest.raises(LocationError, match=r"^.*definitions\.py: sales/bronze/customer: bronze tables are internal"):
        domain_definitions(domains_dir() / "marketing", marketing_transforms, extra_assets=[
            peek, AssetSpec(["sales", "bronze", "customer"], metadata={"schema": "sales/bronze"})])


def test_every_workspace_location_defines_only_its_own_assets():
    entries = yaml.safe_load((Path(__file__).parent.parent / "workspace.yaml").read_text())["load_from"]
    for entry in entries:
        module, name = entry["python_module"]["module_name"], entry["python_module"]["location_name"]
        spec = importlib.util.find_spec(module)
        defs = importlib.import_module(module).defs
        bound = ("io_manager", "mesh") if module.startswith("domains.") else ()
        assert location_problem(defs, name, spec.origin, bound) is None, module


def test_a_resource_bound_to_another_domain_is_refused():
    from mesh_platform.product.io_manager import MeshDeltaIOManager
    from mesh_platform.spark import SparkResource

    merged = Definitions.merge(
        domain_definitions(domains_dir() / "marketing", marketing_transforms),
        Definitions(resources={"sales_io": MeshDeltaIOManager.bound_to("sales").from_env(SparkResource.from_env())}),
    )
    assert location_problem(merged, "marketing", "definitions.py", ("io_manager", "mesh")) == (
        "definitions.py: resources sales_io are not the platform's, bound to marketing; build the location "
        "with domain_definitions() and add assets through its extra_assets")


def test_run_config_cannot_rebind_a_locations_domain():
    job = domain_definitions(domains_dir() / "marketing", marketing_transforms).resolve_implicit_global_asset_job_def()
    with pytest.raises(DagsterInvalidConfigError, match="domain"):
        job.execute_in_process(run_config={"resources": {"mesh": {"config": {"domain": "sales"}}}})


def _failure(result) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.event_specific_data.error.cause.message.strip()


def test_merged_assets_outside_the_prefix_read_and_publish_nothing(mesh_published, instance, lake_root):
    """Past the platform's build (Definitions.merge in a definitions.py): the bound resources refuse at run time."""

    @asset(key=["sales", "x"], ins={"clv": AssetIn(key=["sales", "customer_lifetime_value"])})
    def as_sales(clv: DataFrame) -> DataFrame:
        return clv

    merged = Definitions.merge(domain_definitions(domains_dir() / "marketing", marketing_transforms),
                               Definitions(assets=[as_sales]))
    assert location_problem(merged, "marketing", "definitions.py", ("io_manager", "mesh")).startswith(
        "definitions.py: sales/x is outside marketing's key prefix")  # what the workspace test above catches
    before = len(reads(lake_root, CLV))
    result = merged.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[AssetKey(["sales", "x"])], raise_on_error=False)
    assert not result.success
    assert _failure(result).endswith(
        "AccessDenied: sales/x may not load inputs in the marketing code location: it runs only assets keyed "
        "[\"marketing\", ...]; define the asset in its own domain's code location")
    assert len(reads(lake_root, CLV)) == before  # refused before the read: nothing audited


def test_outputs_and_bronze_inputs_follow_the_key_not_the_schema_metadata(mesh_published, instance, lake_root, spark):
    sales_clv = product_path(lake_root, "sales", "customer_lifetime_value")
    version = DeltaTable(str(sales_clv)).version()

    @asset(key=["marketing", "customer_lifetime_value"], metadata={"schema": "sales/gold"})
    def overwrite() -> DataFrame:
        return spark.range(1).toDF("id")

    result = materialize([overwrite], resources=platform_resources("marketing"), instance=instance,
                         raise_on_error=False)
    assert not result.success and "publishes only to" in _failure(result)
    assert DeltaTable(str(sales_clv)).version() == version  # sales' product untouched

    # A bronze table of sales under a marketing key: read where the key says (marketing's own), or refused.
    disguised = AssetSpec(["marketing", "customer"], metadata={"schema": "sales/bronze"})

    @asset(key=["marketing", "peek"], ins={"customers": AssetIn(key=["marketing", "customer"])})
    def peek(customers: DataFrame) -> None:
        raise AssertionError("a disguised bronze input must not load")

    result = materialize([disguised, peek], resources=platform_resources("marketing"), instance=instance,
                         raise_on_error=False, selection=["marketing/peek"])
    assert not result.success
    assert "marketing may not read marketing/customer: only published products" in _failure(result)


def test_an_own_asset_reads_as_the_bound_domain_and_the_audit_records_it(mesh_published, instance, lake_root):
    names = {}

    @asset(key=["marketing", "name_peek"], ins={"clv": AssetIn(key=["sales", "customer_lifetime_value"])})
    def peek(clv: DataFrame) -> None:
        names.update({r[0]: r[1] for r in clv.select("customer_id", "customer_name").collect()})

    @asset(key=["marketing", "bronze_peek"], ins={"customers": AssetIn(key=["sales", "bronze", "customer"])})
    def bronze_peek(customers: DataFrame) -> None:
        raise AssertionError("another domain's bronze must not load")

    result = materialize([upstream_stub(CLV), peek], resources=platform_resources("marketing"), instance=instance)
    clear = DeltaTable(str(product_path(lake_root, "sales", "customer_lifetime_value"))).to_pyarrow_table()
    assert names and not set(names.values()) & set(clear["customer_name"].to_pylist())  # masked for marketing
    event = next(e for e in reads(lake_root, CLV) if e.run_id == result.run_id)
    assert (event.consumer, event.read_by, event.via) == ("marketing", "marketing/name_peek", "io_manager")

    result = materialize([AssetSpec(["sales", "bronze", "customer"], metadata={"schema": "sales/bronze"}),
                          bronze_peek], resources=platform_resources("marketing"), instance=instance,
                         raise_on_error=False, selection=["marketing/bronze_peek"])
    assert not result.success
    assert "marketing may not read sales/bronze/customer: only published products" in _failure(result)
