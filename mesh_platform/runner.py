"""Materialize products through Dagster against the configured instance (what `mesh materialize` runs).

Runs cannot span code locations, so the mesh is materialized as one run per domain, upstream domains
first. Every run is recorded in the instance and shows in the Dagster UI like a run launched there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from dagster import AssetKey, DagsterInstance, PartitionsDefinition

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
    partitions: list[str] = field(default_factory=list)  # of a partitioned product: those published

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


@dataclass(frozen=True)
class PartitionChoice:
    """The partitions `mesh materialize` builds of each partitioned product: one key, a range, or (neither
    given) all of them. Unpartitioned products ignore it."""

    partition: str | None = None
    start: str | None = None
    end: str | None = None

    @property
    def given(self) -> bool:
        return any((self.partition, self.start, self.end))

    def keys(self, product: str, partitions: PartitionsDefinition) -> list[str]:
        known = partitions.get_partition_keys()
        wanted = [self.partition] if self.partition else [k for k in (self.start, self.end) if k]
        unknown = [k for k in wanted if k not in known]
        if unknown:
            raise ValueError(f"{product} has no partition {', '.join(unknown)}; its partitions are "
                             f"{known[0]} .. {known[-1]} ({len(known)})")
        if self.partition:
            return [self.partition]
        first = known.index(self.start) if self.start else 0
        last = known.index(self.end) if self.end else len(known) - 1
        if first > last:
            raise ValueError(f"--from {self.start} comes after --to {self.end}")
        return known[first:last + 1]


def _runs(job, products: list[str]) -> list[list[str]]:
    """`products` (in dependency order) cut into runs of one partitions definition each: a Dagster run
    builds one partition range, so a partitioned product and its unpartitioned consumers are two runs."""
    runs: list[list[str]] = []
    current = object()
    for product in products:
        partitions = job.asset_layer.asset_graph.get(AssetKey(product.split("."))).partitions_def
        if not runs or partitions != current:
            runs.append([])
            current = partitions
        runs[-1].append(product)
    return runs


def materialize_domain(
    domain: str, products: list[str], instance: DagsterInstance, as_of: str | None = None,
    partitions: PartitionChoice = PartitionChoice(),
) -> list[ProductResult]:
    defs = domain_module(domain, "definitions").defs
    job = defs.resolve_implicit_global_asset_job_def()
    # The CLI shows its own progress; Dagster's step log stays in the instance (and the UI).
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if as_of:
        # Run config for a resource replaces all of its construction-time config, not just the keys
        # given: pass the bound resource's lake root along, or Dagster asks for it.
        bound = defs.resources["mesh"]
        run_config["resources"] = {"mesh": {"config": {"as_of": as_of, "lake_root": bound.lake_root}}}
    results = []
    graph = job.asset_layer.asset_graph
    ordered = [".".join(k.path) for k in graph.toposorted_asset_keys if ".".join(k.path) in products]
    for chosen in _runs(job, ordered):
        partitions_def = graph.get(AssetKey(chosen[0].split("."))).partitions_def
        tags = dict(cli_run_tags())
        if partitions_def is not None:
            keys = partitions.keys(chosen[0], partitions_def)
            if len(keys) == 1:
                tags["dagster/partition"] = keys[0]
            else:  # one run, one Spark session, one commit for the whole range (a single-run backfill)
                tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"] = keys[0], keys[-1]
        result = job.execute_in_process(
            run_config=run_config, instance=instance, asset_selection=[AssetKey(p.split(".")) for p in chosen],
            raise_on_error=False, tags=tags,
        )
        results += _results(result, chosen)
    return results


def _results(result, products: list[str]) -> list[ProductResult]:
    run_id = result.run_id
    by_product = {p: ProductResult(p, "not run", run_id) for p in products}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        item = by_product.get(".".join(materialization.asset_key.path))
        if item:
            item.status = "published"
            item.delta_version = _metadata_value(materialization.metadata, "delta_version")
            item.row_count = _metadata_value(materialization.metadata, "dagster/row_count")
            if materialization.partition:
                item.partitions.append(materialization.partition)
    for evaluation in result.get_asset_check_evaluations():
        item = by_product.get(".".join(evaluation.asset_key.path))
        if item:
            item.checks[evaluation.check_name] = item.checks.get(evaluation.check_name, True) and evaluation.passed
            if not evaluation.passed and evaluation.severity.value == "ERROR" and \
                    evaluation.check_name not in item.blocking_failed:
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
    partitions: PartitionChoice = PartitionChoice(),
) -> list[ProductResult]:
    from mesh_platform.instance import get_instance
    from mesh_platform.spark import SparkResource

    contracts = all_contracts()
    products = parse_selection(selection, contracts) if selection else sorted(contracts)
    if as_of:
        _check_as_of(as_of)
    if partitions.given and not any(contracts[p].partitioning for p in products):
        raise ValueError("--partition/--from/--to: none of the selected products is partitioned")
    SparkResource.from_env().preflight()  # fail in one line before any run is launched
    instance = instance or get_instance()
    fail_orphaned_cli_runs(instance, "a later mesh materialize")  # a killed earlier one's runs stay STARTED
    results: list[ProductResult] = []
    for domain in domain_order(contracts, products):
        chosen = [p for p in products if contracts[p].domain == domain]
        on_domain(domain, chosen)
        results += materialize_domain(domain, chosen, instance, as_of, partitions)
    return results
