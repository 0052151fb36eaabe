"""The governance code location: the council's view of the whole mesh, in the Dagster UI.

A mesh's own `governance/definitions.py`, beside its council's policies, is `defs = governance_definitions()`.
"""


from dagster import (
    AssetExecutionContext,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
)

from mesh_platform import settings
from mesh_platform.contracts import Contract
from mesh_platform.governance.compliance import product_compliance, shares_by_domain
from mesh_platform.governance.maintenance import (
    audit_compaction_schedule,
    lake_vacuum,
    orphaned_cli_runs,
    read_audit_compaction,
    vacuum_job,
    vacuum_schedule,
)
from mesh_platform.governance.propagation import governance_propagation
from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring.cost import mesh_cost
from mesh_platform.monitoring.freshness import freshness_alert_sensor
from mesh_platform.monitoring.health import mesh_health as scorecard
from mesh_platform.product.location import require_own_assets
from mesh_platform.product.refresh import refresh_mesh
from mesh_platform.storage.layout import product_key


def _mesh_wide(name: str, description: str):
    """The council's asset over every product. It reads the instance, so it has no lineage edge to them (a
    catalog would draw it as every product's child); governance_propagation (propagation.py) recomputes it
    whenever one of them publishes new data."""
    return asset(
        key=["governance", name],
        group_name="governance",
        owners=["team:governance-council"],
        kinds={"python"},
        description=description,
    )


def council_assets(contracts: dict[str, Contract]) -> list:
    """compliance, mesh_health and cost over `contracts` (every product of the mesh)."""
    @_mesh_wide("compliance", "Share of products passing governance (no CRITICAL policy violation in the contract, "
                "and their latest governance report on the data passed), overall and by domain.")
    def compliance(context: AssetExecutionContext) -> MaterializeResult:
        results = product_compliance(context.instance, contracts)
        shares = shares_by_domain(results)
        rows = "\n".join(
            f"| {r.product} | {'yes' if r.passing else 'no'} | {r.static_critical} | {r.data_verdict} |" for r in results
        )
        return MaterializeResult(metadata={
            "mesh_compliance": MetadataValue.float(sum(r.passing for r in results) / len(results)),
            **{f"compliance_{domain}": MetadataValue.float(share) for domain, share in shares.items()},
            "products": MetadataValue.md(
                "| product | passing | critical contract violations | latest governance report |\n|---|---|---|---|\n" + rows
            ),
        })


    @_mesh_wide("mesh_health", "The mesh's health by domain: cross-domain dependency ratio (target < 0.2), "
                "discoverability, governance and freshness compliance. Also `mesh health`.")
    def mesh_health(context: AssetExecutionContext) -> MaterializeResult:
        rows = scorecard(contracts, context.instance)
        table = "\n".join(
            f"| {r.domain} | {r.products} | {r.cross_domain_dependency_ratio:.2f}"
            f"{'' if r.cdr_within_target else ' (over target)'} "
            f"| {r.discoverability:.2f} | {r.governance_compliance:.0%} | {r.freshness_compliance:.0%} |" for r in rows
        )
        metadata = {
            f"{r.domain}/{name}": MetadataValue.float(getattr(r, name)) for r in rows
            for name in ("cross_domain_dependency_ratio", "discoverability", "governance_compliance", "freshness_compliance")
        }
        return MaterializeResult(metadata={**metadata, "scorecard": MetadataValue.md(
            "| domain | products | CDR | discoverability | governance | freshness |\n|---|---|---|---|---|---|\n" + table)})


    @_mesh_wide("cost", "Compute (Spark CPU and wall seconds, bytes read and written) of the last "
                f"{settings.COST_WINDOW_DAYS} days' publishes and storage held now, by product and domain. Also `mesh cost`.")
    def cost(context: AssetExecutionContext) -> MaterializeResult:
        products, domains = mesh_cost(contracts, context.instance)
        table = "\n".join(
            f"| {p.product} | {p.cost.publishes} | {p.cost.cpu_seconds:.1f} | {p.cost.wall_seconds:.1f} "
            f"| {p.cost.bytes_read / 2**20:.1f} | {p.cost.bytes_written / 2**20:.1f} | {p.cost.storage_bytes / 2**20:.1f} |"
            for p in products
        )
        metadata = {f"{domain}/{name}": getattr(total, name) for domain, total in domains.items()
                    for name in ("cpu_seconds", "wall_seconds", "bytes_read", "bytes_written", "storage_bytes")}
        return MaterializeResult(metadata={**metadata, "by_product": MetadataValue.md(
            "| product | publishes | CPU s | wall s | read MiB | written MiB | storage MiB |\n|---|---|---|---|---|---|---|\n"
            + table)})

    return [compliance, mesh_health, cost]


def governance_definitions(contracts: dict[str, Contract] | None = None) -> Definitions:
    """The council's location over `contracts` (default: every product of the mesh in use). It runs only its own
    assets: products are not even stubs here (no lineage edge to them), and no platform IO manager is bound
    here, so nothing in it reads a product's data."""
    contracts = all_contracts() if contracts is None else contracts
    products = [product_key(c.domain, c.asset_name) for c in contracts.values()]
    defs = Definitions(
        assets=[*(council := council_assets(contracts)), lake_vacuum],
        jobs=[read_audit_compaction, vacuum_job, refresh_mesh],
        schedules=[vacuum_schedule, audit_compaction_schedule],
        sensors=[governance_propagation(council, products), freshness_alert_sensor(contracts), orphaned_cli_runs],
    )
    require_own_assets(defs, "governance", __file__)
    return defs
