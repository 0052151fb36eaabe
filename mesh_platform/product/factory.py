"""Contract + transform function -> one Dagster asset with its checks and freshness policy.

The asset's body is a ProductBuild (product/materialize.py): what a build does, fixed when the location loads.
"""

from collections.abc import Mapping
from datetime import timedelta

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    AssetSpec,
    FreshnessPolicy,
    asset,
)

from mesh_platform.checks import check_specs
from mesh_platform.contracts.lifecycle import lifecycle
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.partitioning import mapping_problem
from mesh_platform.governance import Policies, domain_policies
from mesh_platform.mesh import domains_dir
from mesh_platform.product.automation import product_condition
from mesh_platform.product.build import Transform
from mesh_platform.product.catalog_metadata import column_schema, table_name
from mesh_platform.product.docs import product_markdown
from mesh_platform.product.materialize import ProductBuild, source_input
from mesh_platform.product.partitions import backfill_policy, dagster_mapping, partitions_def
from mesh_platform.product.run import ProductRun
from mesh_platform.settings import fixed_as_of
from mesh_platform.sources import Source
from mesh_platform.spark import SparkResource
from mesh_platform.storage.layout import BRONZE, GOLD, bronze_key, io_schema, product_key


def freshness_policy(contract: Contract) -> FreshnessPolicy:
    warn = contract.sla.warn_after_hours
    return FreshnessPolicy.time_window(
        fail_window=timedelta(hours=contract.sla.freshness_hours),
        warn_window=timedelta(hours=warn) if warn else None,
    )


def product_asset(
    contract: Contract,
    transform: Transform,
    upstreams: Mapping[str, Contract] | None = None,
    policies: Policies | None = None,
    sources: Mapping[str, Source] | None = None,
) -> AssetsDefinition:
    """`upstreams`: the contracts of the products `contract` consumes, by `domain.product`;
    `policies`: its domain's (read from the domain folder when not given); `sources`: its domain's
    declared sources, by name (those of the installed domain when not given)."""
    policies = policies or domain_policies(domains_dir() / contract.domain)
    build = ProductBuild.of(contract, transform, upstreams, policies, sources)
    key = build.key
    ins = {source_input(t): AssetIn(key=bronze_key(contract.domain, t)) for t in contract.sources}
    # Consumed products are plain deps: the build reads each at a version it vets (see upstream.py).
    deps = [AssetDep(product_key(d.domain, d.name), partition_mapping=_mapping(contract, d, upstreams))
            for d in contract.dependencies]
    partitions = partitions_def(contract, fixed_as_of())

    @asset(
        key=key,
        ins=ins,
        deps=deps,
        automation_condition=product_condition(contract),
        check_specs=check_specs(contract, key, partitions),
        partitions_def=partitions,
        backfill_policy=backfill_policy(contract),
        group_name=contract.domain,
        owners=[contract.owner],
        kinds={"spark", "deltalake"},
        code_version=contract.version,
        description=product_markdown(contract),
        freshness_policy=freshness_policy(contract),
        tags={"mesh/domain": contract.domain, "mesh/kind": contract.kind.replace("-", "_"),
              "mesh/lifecycle": lifecycle(contract)},
        metadata={
            "schema": io_schema(contract.domain, GOLD),
            "dagster/column_schema": column_schema(contract),
            "dagster/table_name": table_name(contract),  # catalogs read it off the definition, before any run
            "contract_version": contract.version,
            "freshness_sla_hours": contract.sla.freshness_hours,
            # the DbIOManager's partition column; the publish replaces the run's window of it (partitions.py)
            **({"partition_expr": contract.partitioning.column} if contract.partitioning else {}),
        },
    )
    def _build(context: AssetExecutionContext, spark: SparkResource, mesh: ProductRun, **inputs):
        yield from build.run(context, spark, mesh, inputs)  # Dagster reads the resources off this signature

    return _build


def _mapping(contract: Contract, dependency, upstreams: Mapping[str, Contract] | None):
    """The dependency's partition mapping; a mapping that cannot work stops the location in one line."""
    upstream = (upstreams or {}).get(dependency.product)
    if upstream is None:
        return None
    problem = mapping_problem(contract.key, contract.partitioning, dependency.partition_mapping, upstream.key,
                              upstream.partitioning)
    if problem:
        raise ValueError(f"{contract.domain}/contracts/{contract.file_name}: dependencies: {problem}")
    return dagster_mapping(contract, dependency, upstream)


def bronze_spec(domain: str, table: str, owner: str) -> AssetSpec:
    """An undeclared Delta table under <lake>/<domain>/bronze, read as it is: for assets assembled outside a
    domain folder (tests, benchmarks). A domain's location observes its declared sources instead
    (sources/assets.py), read as declared."""
    return AssetSpec(
        key=bronze_key(domain, table),
        group_name=domain,
        owners=[owner],
        kinds={"deltalake"},
        description=f"Bronze table `{table}` of the {domain} domain (undeclared).",
        metadata={"schema": io_schema(domain, BRONZE)},
        tags={"mesh/domain": domain, "mesh/layer": BRONZE},
    )
