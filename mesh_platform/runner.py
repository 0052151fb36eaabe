"""Materialize products through Dagster against the configured instance (what `mesh materialize` runs).

Runs cannot span code locations, so the mesh is materialized as one run per domain, upstream domains
first. Every run is recorded in the instance and shows in the Dagster UI like a run launched there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from dagster import AssetKey, DagsterInstance

from mesh_platform.contracts import Contract
from mesh_platform.mesh import all_contracts, domain_module
from mesh_platform.monitoring.orphans import cli_run_tags, fail_orphaned_cli_runs


@dataclass
class ProductResult:
    product: str
    status: str  # published | refused | failed | not run
    run_id: str
    delta_version: int | None = None
    row_count: int | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    blocking_failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "published" and not self.blocking_failed


def parse_selection(selection: Iterable[str], contracts: dict[str, Contract]) -> list[str]:
    """`DOMAIN`, `DOMAIN/PRODUCT` or `DOMAIN.PRODUCT` -> product keys; ValueError for unknown ones."""
    chosen: list[str] = []
    for item in selection:
        item = item.strip().replace("/", ".")
        matches = [k for k in contracts if k == item or k.split(".")[0] == item]
        if not matches:
            raise ValueError(f"{item!r} matches no product; known: {', '.join(sorted(contracts))}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def domain_order(contracts: dict[str, Contract], products: list[str]) -> list[str]:
    """Domains of `products`, each after every domain it consumes from."""
    graph: dict[str, set[str]] = {}
    for key in products:
        contract = contracts[key]
        deps = {d.domain for d in contract.dependencies if d.domain != contract.domain}
        graph.setdefault(contract.domain, set()).update(deps)
    order = list(TopologicalSorter(graph).static_order())
    return [d for d in order if d in graph]


def _metadata_value(metadata: dict, name: str):
    value = metadata.get(name)
    return getattr(value, "value", value)


def materialize_domain(
    domain: str, products: list[str], instance: DagsterInstance, as_of: str | None = None
) -> list[ProductResult]:
    defs = domain_module(domain, "definitions").defs
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [AssetKey(p.split(".")) for p in products]
    # The CLI shows its own progress; Dagster's step log stays in the instance (and the UI).
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if as_of:
        # Run config for a resource replaces all of its construction-time config, not just the keys
        # given: pass the bound resource's lake root along, or Dagster asks for it.
        bound = defs.resources["mesh"]
        run_config["resources"] = {"mesh": {"config": {"as_of": as_of, "lake_root": bound.lake_root}}}
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        asset_selection=keys,
        raise_on_error=False,
        tags=cli_run_tags(),
    )
    run_id = result.run_id
    by_product = {p: ProductResult(p, "not run", run_id) for p in products}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        item = by_product.get(".".join(materialization.asset_key.path))
        if item:
            item.status = "published"
            item.delta_version = _metadata_value(materialization.metadata, "delta_version")
            item.row_count = _metadata_value(materialization.metadata, "dagster/row_count")
    for evaluation in result.get_asset_check_evaluations():
        item = by_product.get(".".join(evaluation.asset_key.path))
        if item:
            item.checks[evaluation.check_name] = evaluation.passed
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                item.blocking_failed.append(evaluation.check_name)
    failed_steps = {step.step_key for step in result.get_step_failure_events()}
    for item in by_product.values():
        if item.status == "not run" and item.product.replace(".", "__") in failed_steps:
            item.status = "refused" if item.blocking_failed else "failed"
    return list(by_product.values())


def _check_as_of(as_of: str) -> None:
    """A mistyped --as-of fails in one line here, not as Dagster's config traceback."""
    from datetime import date

    try:
        date.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"--as-of {as_of!r} is not a date; write YYYY-MM-DD, e.g. 2026-06-30") from None


def materialize(
    selection: Iterable[str] = (),
    instance: DagsterInstance | None = None,
    as_of: str | None = None,
    on_domain: Callable[[str, list[str]], None] = lambda *_: None,
) -> list[ProductResult]:
    from mesh_platform.instance import get_instance
    from mesh_platform.spark import SparkResource

    contracts = all_contracts()
    products = parse_selection(selection, contracts) if selection else sorted(contracts)
    if as_of:
        _check_as_of(as_of)
    SparkResource.from_env().preflight()  # fail in one line before any run is launched
    instance = instance or get_instance()
    fail_orphaned_cli_runs(instance, "a later mesh materialize")  # a killed earlier one's runs stay STARTED
    results: list[ProductResult] = []
    for domain in domain_order(contracts, products):
        chosen = [p for p in products if contracts[p].domain == domain]
        on_domain(domain, chosen)
        results += materialize_domain(domain, chosen, instance, as_of)
    return results
