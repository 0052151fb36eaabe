"""A domain's Definitions from its contracts and transforms: what a domain's definitions.py calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    in_process_executor,
    multiprocess_executor,
)

from mesh_platform import settings
from mesh_platform.config import use_mesh_of
from mesh_platform.contracts import Contract, ContractError, load_domain_contracts
from mesh_platform.contracts.lifecycle import deprecation_notice, today
from mesh_platform.governance import critical, domain_policies, lint_domain
from mesh_platform.mesh import bronze_tables, domain_contracts, domain_module
from mesh_platform.product.factory import product_asset
from mesh_platform.product.location import require_own_assets
from mesh_platform.product.partition_refresh import partition_refresh_sensor
from mesh_platform.product.refresh import domain_refresh_job, domain_refresh_sensor, mesh_refresh_sensor
from mesh_platform.product.resources import platform_resources
from mesh_platform.product.sources_sensor import sources_sensor
from mesh_platform.sources import Source, load_domain_sources
from mesh_platform.sources.assets import source_asset
from mesh_platform.storage.layout import GOLD, io_schema, product_key

BOUND_RESOURCES = ("io_manager", "mesh")  # read and publish as the location's domain (access/binding.py)
# One process per step, forked from a server that has already imported Dagster, the platform and this code
# location: a step starts in a fraction of a second instead of paying those imports again (spawn's default).
STEP_PROCESSES = multiprocess_executor.configured({"start_method": {"forkserver": {}}}, name="mesh_multiprocess")


def retired_spec(contract: Contract) -> AssetSpec:
    """A major past its sunset: still in the catalog and lineage, with its last table, never built."""
    return AssetSpec(
        product_key(contract.domain, contract.asset_name),
        group_name=contract.domain,
        owners=[contract.owner],
        kinds={"deltalake"},
        description=f"**Retired.** {deprecation_notice(contract)}.\n\n{contract.description.strip()}",
        metadata={"schema": io_schema(contract.domain, GOLD), "contract_version": contract.version},
        tags={"mesh/domain": contract.domain, "mesh/lifecycle": "retired"},
    )


def _contract_file(domain_dir: Path, contract: Contract) -> Path:
    return domain_dir / "contracts" / contract.file_name


def resolve_dependencies(
    contract: Contract, domain_dir: Path, own: dict[str, Contract], own_bronze: tuple[str, ...],
    declared_sources: Mapping[str, Source] | None = None,
) -> dict[str, Contract]:
    """The contracts `contract` consumes; ContractError if it reaches past published products."""
    where = _contract_file(domain_dir, contract)
    for source in contract.sources:
        if source not in own_bronze:
            raise ContractError(
                f"{where}: sources: {source!r} is not a bronze table of {contract.domain} "
                f"(it has: {', '.join(own_bronze) or 'none'}); data of other domains is consumed only "
                "through their published products, listed under dependencies"
            )
    mapped = contract.partitioning.from_sources if contract.partitioning is not None else {}
    for source, column in mapped.items():
        if source not in contract.sources:
            raise ContractError(
                f"{where}: partitioning.from_sources: {source!r} is not one of its sources "
                f"({', '.join(contract.sources) or 'none'}); list it under sources or remove it"
            )
        if declared_sources and column not in declared_sources[source].columns:
            raise ContractError(
                f"{where}: partitioning.from_sources: {source}.{column} is not a declared column of source "
                f"{source} (sources.yaml has: {', '.join(declared_sources[source].columns)})"
            )
    found = {}
    for dep in contract.dependencies:
        known = own if dep.domain == contract.domain else domain_contracts(dep.domain)
        if dep.product in known:
            found[dep.product] = known[dep.product]
            continue
        if dep.name in bronze_tables(dep.domain):
            raise ContractError(
                f"{where}: dependencies: {dep.product} is a bronze source of {dep.domain}, not a published "
                f"product; consume one of its products instead ({', '.join(sorted(known)) or 'none yet'})"
            )
        raise ContractError(
            f"{where}: dependencies: {dep.product} is not a published product of the mesh "
            f"(products of {dep.domain}: {', '.join(sorted(known)) or 'none'})"
        )
    return found


def upstream_stub(product: str) -> AssetSpec:
    """Another domain's product as seen from this code location; the IO manager can load it as an input."""
    domain, name = product.split(".")
    return AssetSpec(
        product_key(domain, name),
        description=f"Published by the {domain} domain.",
        metadata={"schema": io_schema(domain, GOLD)},  # where its Delta table lives
    )


def domain_definitions(
    domain_dir: Path, transforms: ModuleType | None = None, extra_assets: Sequence[AssetsDefinition | AssetSpec] = ()
) -> Definitions:
    """The domain's code location: its products, bronze tables and stubs of what it consumes, plus
    `extra_assets` (keyed [domain, ...]), under resources bound to the domain; LocationError otherwise.
    `transforms`: the module of its transform functions (default: the folder's transforms.py, imported as
    `<domains package>.<domain>.transforms`, so definitions.py loads however it is imported: dagster, dg)."""
    domain_dir = Path(domain_dir)
    domain = domain_dir.name
    use_mesh_of(domain_dir)  # its mesh (policies, other domains, lake) is the one above its folder
    if transforms is None:
        transforms = domain_module(domain, "transforms")
        if transforms is None:
            raise ContractError(f"{domain_dir / 'transforms.py'}: missing; it holds one function per product")
    # Governance as code: no product breaks a policy, and the majors of a product fit together (VERSION-002);
    # lint first, so that a broken policy file or a dependency cycle is its one line, not a traceback.
    blocking = critical(lint_domain(domain_dir))
    if blocking:
        raise ContractError("\n".join(v.line() for v in blocking))
    policies = domain_policies(domain_dir)
    # A new domain with sources and no product yet is a location too: its sources are observed from day one.
    contracts = {c.key: c for c in load_domain_contracts(domain_dir)} if (domain_dir / "contracts").is_dir() else {}
    on = today()
    retired = [retired_spec(c) for c in contracts.values() if c.retired(on)]
    # Read from this folder, not the installed mesh: a domain's location is what its folder declares.
    declared = load_domain_sources(domain_dir, settings.sources_profile())  # MESH_SOURCES_PROFILE overlays
    own_bronze = tuple(declared)
    products, foreign = [], set()
    for contract in (c for c in contracts.values() if not c.retired(on)):
        transform = getattr(transforms, contract.asset_name, None)
        if not callable(transform):
            raise ContractError(
                f"{_contract_file(domain_dir, contract)}: no transform for this product; "
                f"define `def {contract.asset_name}(ctx: BuildContext) -> DataFrame` in {transforms.__name__}"
            )
        upstreams = resolve_dependencies(contract, domain_dir, contracts, own_bronze, declared)
        foreign |= {key for key in upstreams if key not in contracts}
        products.append(product_asset(contract, transform, upstreams, policies, declared))
    owner = next(iter(contracts.values())).owner if contracts else f"team:{domain}"
    # Every declared source is observed, read by a product or not: its drift shows before anyone reads it.
    sources = [source_asset(domain, declared[name], owner) for name in sorted(declared)]
    # Products of other domains appear here as stubs: lineage crosses code locations, runs do not.
    stubs = [upstream_stub(key) for key in sorted(foreign)]
    # Every automated product (roots too: the fill materializes a fresh mesh) is watched by one sensor per
    # domain, a switch a user sees (and can stop) on the UI's Automation page (product/automation.py).
    automated = [p.key for p in products if p.automation_conditions_by_key.get(p.key) is not None]
    sensors = [
        AutomationConditionSensorDefinition(
            f"{domain}_propagation",
            target=AssetSelection.assets(*automated),
            default_status=DefaultSensorStatus.STOPPED if settings.automation_paused() else DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=settings.sensor_interval(),
            description=f"Builds missing {domain} products and rebuilds those whose inputs (sources, consumed "
            "products) have a new data version or whose contract version changed.",
        )
    ] if automated else []
    # Observes the sources (their new data versions trigger the automation) and renews unchanged products.
    built = {c.key: c for c in contracts.values() if not c.retired(on)}
    sensors.append(sources_sensor(domain, declared, built))
    # Partitioned products rebuild only the partitions whose source rows changed (product/partition_refresh.py).
    incremental = partition_refresh_sensor(domain, declared, built)
    sensors += [incremental] if incremental else []
    # Refreshing from the UI (product/refresh.py): the domain and what reads it, or, on request, the mesh.
    refresh = domain_refresh_job(domain)
    sensors += [domain_refresh_sensor(domain, [p.key for p in products])] if products else []
    roots = [product_key(c.domain, c.asset_name) for c in built.values() if not c.dependencies]
    sensors += [mesh_refresh_sensor(domain, roots)] if roots else []
    defs = Definitions(
        assets=[*sources, *stubs, *products, *retired, *extra_assets],
        jobs=[refresh],
        sensors=sensors,
        resources=platform_resources(domain),
        # In-process by default: one process and one Spark session for the whole run, where the
        # multiprocess executor would start a JVM per asset step (measured in bench/execution_mode.py).
        executor=in_process_executor if settings.executor_name() == "in_process" else STEP_PROCESSES,
    )
    require_own_assets(defs, domain, str(domain_dir / "definitions.py"), BOUND_RESOURCES)
    return defs
