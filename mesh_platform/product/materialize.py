"""One materialization of a product: vet and read its inputs, run the transform, check the result, and hand
it with its contract to the IO manager, which commits it (product/io_manager.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AllPartitionMapping,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    Failure,
    MetadataValue,
    Output,
)
from dagster._time import get_current_timestamp
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mesh_platform import settings
from mesh_platform.access.reader import open_product
from mesh_platform.checks import ContractReport
from mesh_platform.checks.drift import metric_history
from mesh_platform.checks.sequence import check_build
from mesh_platform.contracts.lifecycle import deprecation_notice, lifecycle, today
from mesh_platform.contracts.model import Contract
from mesh_platform.governance import Policies, Violation, lint_contract
from mesh_platform.mesh import domain_sources
from mesh_platform.monitoring.lineage import BuildRun, Dataset, GateVerdict, dataset
from mesh_platform.monitoring.observe import BuildObservation
from mesh_platform.product.build import BuildContext, Publication, Transform
from mesh_platform.product.data_time import build_data_time
from mesh_platform.product.partitions import PartitionWindow, dagster_mapping, run_window
from mesh_platform.product.run import ProductRun
from mesh_platform.product.upstream import PUBLISHES, UpstreamVersion, resolve
from mesh_platform.sources import Source
from mesh_platform.sources.observe import observe_source, source_uri
from mesh_platform.spark import SparkResource
from mesh_platform.storage.delta import current_version
from mesh_platform.storage.layout import bronze_path, product_key, product_path
from mesh_platform.storage.staging import StagedBuild, stage


def source_input(table: str) -> str:
    """The asset input name of a bronze source table."""
    return f"source__{table}"


def with_audit_columns(
    df: DataFrame, contract: Contract, computed_at: datetime, sources: list[UpstreamVersion] = ()
) -> DataFrame:
    """Adds the platform columns and puts the contract's columns first, in its order."""
    stamp = F.lit(computed_at).cast("timestamp")
    if contract.kind == "composed":
        labels = F.array(*[F.lit(s.label) for s in sources]).cast("array<string>")
        df = df.withColumn("_source_products", labels).withColumn("_composed_at", stamp)
    df = df.withColumn("_computed_at", stamp).withColumn("_product_version", F.lit(contract.version))
    declared = [c for c in contract.published_columns if c in df.columns]
    return df.select(*declared, *[c for c in df.columns if c not in contract.published_columns])


def _check_results(report: ContractReport, key: AssetKey, publishes: bool) -> Iterator[AssetCheckResult]:
    for outcome in report.outcomes:
        yield AssetCheckResult(
            asset_key=key,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=AssetCheckSeverity.ERROR if outcome.critical else AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={
                PUBLISHES: publishes,
                **{k: MetadataValue.json(v) if isinstance(v, dict | list) else v
                   for k, v in outcome.metadata.items()},
            },
        )


def _refusal(contract: Contract, report: ContractReport) -> Failure:
    failed = ", ".join(o.name for o in report.blocking_failures)
    return Failure(
        description=f"{contract.key} breaks its contract ({failed}); not published, the previous "
        "version stays current",
        metadata={"failed_checks": [o.name for o in report.blocking_failures]},
    )


class _Clock:
    """The build's phases in seconds: the transform computed by its staged write (on the Arrow path: by the
    checks' aggregation pass), then the checks."""

    def __init__(self, observation: BuildObservation):
        self._observation = observation
        self.started = self.built = time.perf_counter()

    def pass_done(self) -> None:
        self.built = time.perf_counter()
        self._observation.phase("checks")


@dataclass(frozen=True)
class ProductBuild:
    """What every build of one product shares, fixed when its code location loads; `run` is one build.

    `upstreams`: the contracts of the products it consumes, by `domain.product`; `sources`: its domain's
    declared sources by name (those of the installed domain when None); `static_violations`: the
    contract's lint findings under `policies`, for the governance gate.
    """

    contract: Contract
    transform: Transform
    upstreams: Mapping[str, Contract]
    policies: Policies
    sources: Mapping[str, Source] | None
    static_violations: list[Violation]

    @classmethod
    def of(cls, contract: Contract, transform: Transform, upstreams: Mapping[str, Contract] | None,
           policies: Policies, sources: Mapping[str, Source] | None) -> ProductBuild:
        where = cls.where_of(contract)
        return cls(contract, transform, upstreams or {}, policies, sources, lint_contract(contract, policies, where))

    @staticmethod
    def where_of(contract: Contract) -> str:
        return f"{contract.domain}/contracts/{contract.file_name}"

    @property
    def key(self) -> AssetKey:
        return product_key(self.contract.domain, self.contract.asset_name)

    def run(self, context: AssetExecutionContext, spark: SparkResource, mesh: ProductRun, inputs: dict) -> Iterator:
        """The asset's body: check results, then the Output the IO manager commits (or a Failure)."""
        if self.contract.retired(today()):  # a location loaded before the sunset, run after it
            raise Failure(f"{deprecation_notice(self.contract)}; reload the code location")
        deprecated = self._deprecated_dependencies(context)
        session = spark.spark_session
        observation = BuildObservation(BuildRun(".".join(self.key.path), context.run_id, context.job_name, self.contract),
                                       session)
        try:
            yield from self._checked_build(context, mesh, session, observation, inputs, deprecated)
        except Exception as exc:  # a refusal or a crash; a failed commit is reported by the IO manager
            observation.failed(str(exc))
            raise

    def _checked_build(self, context: AssetExecutionContext, mesh: ProductRun, session: SparkSession,
                       observation: BuildObservation, inputs: dict, deprecated: dict[str, str]) -> Iterator:
        contract, lake_root = self.contract, Path(mesh.lake_root)
        consumer = mesh.require_own([self.key], "build")  # the location's domain, not the contract's claim
        window = run_window(contract, context)
        read, products = self._read_dependencies(context, session, lake_root, consumer, window)
        observation.started(lambda: self._input_datasets(lake_root, inputs, read, products))
        build = BuildContext(spark=session, as_of=mesh.as_of_date, products=products,
                             sources={t: inputs[source_input(t)] for t in contract.sources}, partition=window)
        # Drift bands are learned per partition: a month is compared with that month's earlier builds; a
        # backfill's range has no history of its own to compare with.
        if window is None or len(window.keys) == 1:
            history = metric_history(context.instance, self.key, window.keys[0] if window else None)
        else:
            history = {}
        clock = _Clock(observation)
        built = with_audit_columns(self.transform(build), contract, datetime.now(UTC), read)
        staged = self._stage(built, lake_root, window)  # computed once, by the write; the checks read its files
        if staged is not None:
            clock.pass_done()
        try:
            df = staged.frame(session) if staged is not None else built.persist()
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        try:
            report, drift = check_build(df, contract, policies=self.policies, static=self.static_violations,
                                        where=self.where_of(contract), lake_root=lake_root, read=read,
                                        history=history, after_pass=None if staged else clock.pass_done,
                                        as_of=mesh.as_of_date, window=window)
            checked = time.perf_counter()
            publishes = not report.blocking_failures
            observation.judged(GateVerdict(
                "passed" if publishes else "refused", len(report.outcomes),
                [o.name for o in report.blocking_failures],
                [o.name for o in report.outcomes if not o.passed and not o.critical]))
            yield from _check_results(report, self.key, publishes)
            if not publishes:
                raise _refusal(contract, report)
            metadata = {
                "as_of": mesh.as_of_date.isoformat(),
                **({"partitions": window.label} if window else {}),
                "contract_version": contract.version,
                # the transform's compute with its staged write (or, on the Arrow path, the checks' first pass)
                "build_seconds": round(clock.built - clock.started, 3),
                "check_seconds": round(checked - clock.built, 3),  # every check after the build
                **drift,  # with their bands: plotted over time on the asset's page
            }
            if read:
                metadata["source_versions"] = MetadataValue.json(
                    {s.product: {"version": s.version, "state": s.state, "detail": s.detail} for s in read})
            if deprecated:
                metadata["deprecated_sources"] = MetadataValue.json(deprecated)
            # When the data was current: the oldest input's data time, at the versions read.
            metadata.update(build_data_time(context.instance, contract, read, get_current_timestamp()))
            observation.phase("publish")
            # Each publish is new data: a new data version makes the automation rebuild its consumers.
            yield Output(Publication(df, contract, window, staged), metadata=metadata,
                         data_version=DataVersion(context.run_id))
        finally:
            if staged is not None:
                staged.discard()  # a refused or failed build's files; nothing once the IO manager committed them
            else:
                df.unpersist()

    def _stage(self, df: DataFrame, lake_root: Path, window: PartitionWindow | None) -> StagedBuild | None:
        """The build written to its table's staging folder (storage/staging.py); None on the Arrow path
        (MESH_WRITE_PATH=arrow), which persists the build and publishes it through the driver."""
        if settings.write_path() == "arrow":
            return None
        contract = self.contract
        return stage(df, product_path(lake_root, contract.domain, contract.asset_name),
                     window.layout() if window else None, contract.key)

    def _deprecated_dependencies(self, context: AssetExecutionContext) -> dict[str, str]:
        """Warns (in the run's log) about each deprecated major consumed; fails on a retired one."""
        notices = {}
        for dep in self.contract.dependencies:
            upstream = self.upstreams[dep.product]
            state, notice = lifecycle(upstream), deprecation_notice(upstream)
            if state == "retired":
                raise Failure(f"{self.contract.key} not built: {notice}")
            if state == "deprecated":
                context.log.warning(f"{self.contract.key} consumes a deprecated version: {notice}")
                notices[dep.product] = notice
        return notices

    def _read_dependencies(self, context: AssetExecutionContext, spark: SparkSession, lake_root: Path,
                           consumer: str, window: PartitionWindow | None
                           ) -> tuple[list[UpstreamVersion], dict[str, DataFrame]]:
        contract, upstreams = self.contract, self.upstreams
        now = get_current_timestamp()  # Dagster's clock: the daemon tests freeze and advance it
        chosen = [
            resolve(d, upstreams[d.product], contract.key, context.instance, lake_root, now)
            for d in contract.dependencies
        ]
        frames = {}
        mapped = {d.product: dagster_mapping(contract, d, upstreams[d.product]) for d in contract.dependencies}
        for source in chosen:
            upstream = upstreams[source.product]
            # Only the partitions the dependency maps: the same window over the upstream's partition column.
            part = (window.within(upstream) if window and upstream.partitioning is not None
                    and not isinstance(mapped[source.product], AllPartitionMapping) else None)
            reader = f"{contract.key} (partitions {part.label})" if part else contract.key
            # Read as the domain the code location is bound to: the upstream contract's masking and row filter apply.
            read = open_product(spark, upstream, consumer, lake_root, source.version,
                                via="dagster", run_id=context.run_id, read_by=reader)  # audited there
            frames[source.product] = part.filter(read.df) if part else read.df
            if read.observation:
                context.log_event(read.observation)
            if source.degraded:
                context.log.warning(f"{contract.key} reads {source.label} ({source.state}: {source.detail})")
        return chosen, frames

    def _input_datasets(self, lake_root: Path, inputs: dict, read: list[UpstreamVersion],
                        products: dict[str, DataFrame]) -> list[Dataset]:
        """What the build reads, at the Delta versions it reads, for its OpenLineage START."""
        contract = self.contract
        declared = self.sources or domain_sources(contract.domain)
        bronze = []
        for name in contract.sources:  # observed again (cheap): the version and place lineage names
            df, source = inputs[source_input(name)], declared.get(name)
            if source is None:  # an undeclared bronze Delta table (see factory.bronze_spec)
                bronze.append(dataset(path := bronze_path(lake_root, contract.domain, name), current_version(path), df))
                continue
            observed = observe_source(source, contract.domain, lake_root)
            bronze.append(dataset(source_uri(source, contract.domain, lake_root), observed.data_version, df,
                                  delta=source.kind == "delta"))
        consumed = [
            dataset(product_path(lake_root, self.upstreams[s.product].domain, self.upstreams[s.product].asset_name),
                    s.version, products[s.product], self.upstreams[s.product])
            for s in read
        ]
        return bronze + consumed
