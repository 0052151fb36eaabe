"""Contract + transform function -> one Dagster asset with its checks and freshness policy."""


import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    AssetSpec,
    DataVersion,
    Failure,
    FreshnessPolicy,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)
from dagster._time import get_current_timestamp
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.access.reader import open_product
from mesh_platform.checks import UPSTREAM_CHECK, CheckOutcome, ContractReport, check_specs, evaluate_contract
from mesh_platform.checks.drift import (dated_columns, distribution_outcome, drift_metrics, metric_history,
                                        observed_distribution, previous_rows, schema_outcome)
from mesh_platform.checks.names import SCHEMA_CHECK
from mesh_platform.checks.specs import UPSTREAM_DESCRIPTION
from mesh_platform.contracts.lifecycle import deprecation_notice, lifecycle, today
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.revisions import PublishedTable, contract_metadata, published_table
from mesh_platform.governance import Policies, domain_policies, lint_contract
from mesh_platform.governance.gate import PiiProbe, governance_outcome
from mesh_platform.governance.versioning import version_violations
from mesh_platform.monitoring.lineage import BuildRun, Dataset, dataset
from mesh_platform.monitoring.observe import BuildObservation
from mesh_platform.mesh import DOMAINS_DIR, domain_sources
from mesh_platform.product.automation import product_condition
from mesh_platform.product.build import BuildContext, Transform
from mesh_platform.product.data_time import build_data_time
from mesh_platform.product.docs import product_markdown
from mesh_platform.product.run import ProductRun
from mesh_platform.product.upstream import PUBLISHES, UpstreamVersion, resolve
from mesh_platform.sources import Source
from mesh_platform.sources.observe import observe_source, source_uri
from mesh_platform.spark import SparkResource
from mesh_platform.storage.delta import current_version
from mesh_platform.storage.layout import BRONZE, GOLD, bronze_key, bronze_path, io_schema, product_key, product_path


def _source_input(table: str) -> str:
    return f"source__{table}"


def freshness_policy(contract: Contract) -> FreshnessPolicy:
    warn = contract.sla.warn_after_hours
    return FreshnessPolicy.time_window(
        fail_window=timedelta(hours=contract.sla.freshness_hours),
        warn_window=timedelta(hours=warn) if warn else None,
    )


def column_schema(contract: Contract) -> TableSchema:
    audit = {
        "_computed_at": "UTC time of the build",
        "_product_version": "contract version of the build",
        "_source_products": "consumed products and the Delta versions read (domain.product@vN)",
        "_composed_at": "UTC time the sources were composed",
    }
    descriptions = {c.name: c.description for c in contract.columns} | audit
    return TableSchema(
        columns=[
            TableColumn(name=name, type=type_, description=descriptions[name])
            for name, type_ in contract.published_columns.items()
        ]
    )


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


def _upstream_outcome(sources: list[UpstreamVersion]) -> CheckOutcome:
    degraded = {s.product: f"{s.state}: {s.detail}" for s in sources if s.degraded}
    return CheckOutcome(
        UPSTREAM_CHECK, passed=not degraded, critical=False, description=UPSTREAM_DESCRIPTION,
        metadata={"read": [s.label for s in sources], "degraded": degraded},
    )


def _check_results(report: ContractReport, key, publishes: bool) -> Iterator[AssetCheckResult]:
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


def _deprecated_dependencies(contract: Contract, upstreams: Mapping[str, Contract], context) -> dict[str, str]:
    """Warns (in the run's log) about each deprecated major consumed; fails on a retired one."""
    notices = {}
    for dep in contract.dependencies:
        upstream = upstreams[dep.product]
        state, notice = lifecycle(upstream), deprecation_notice(upstream)
        if state == "retired":
            raise Failure(f"{contract.key} not built: {notice}")
        if state == "deprecated":
            context.log.warning(f"{contract.key} consumes a deprecated version: {notice}")
            notices[dep.product] = notice
    return notices


def _read_dependencies(
    contract: Contract, upstreams: Mapping[str, Contract], context, spark, lake_root: Path, consumer: str
) -> tuple[list[UpstreamVersion], dict[str, DataFrame]]:
    now = get_current_timestamp()  # Dagster's clock: the daemon tests freeze and advance it
    chosen = [
        resolve(d, upstreams[d.product], contract.key, context.instance, lake_root, now)
        for d in contract.dependencies
    ]
    frames = {}
    for source in chosen:
        # Read as the domain the code location is bound to: the upstream contract's masking and row filter apply.
        read = open_product(spark, upstreams[source.product], consumer, lake_root, source.version,
                            via="dagster", run_id=context.run_id, read_by=contract.key)  # audited there
        frames[source.product] = read.df
        if read.observation:
            context.log_event(read.observation)
        if source.degraded:
            context.log.warning(f"{contract.key} reads {source.label} ({source.state}: {source.detail})")
    return chosen, frames


def _input_datasets(contract: Contract, upstreams: Mapping[str, Contract], lake_root: Path, inputs: dict,
                    read: list[UpstreamVersion], products: dict[str, DataFrame],
                    sources: Mapping[str, Source] | None) -> list[Dataset]:
    """What the build reads, at the Delta versions it reads, for its OpenLineage START."""
    declared = sources or domain_sources(contract.domain)
    bronze = []
    for name in contract.sources:  # observed again (cheap): the version and place lineage names
        df, source = inputs[_source_input(name)], declared.get(name)
        if source is None:  # an undeclared bronze Delta table (see bronze_spec)
            bronze.append(dataset(path := bronze_path(lake_root, contract.domain, name), current_version(path), df))
            continue
        observed = observe_source(source, contract.domain, lake_root)
        bronze.append(dataset(source_uri(source, contract.domain, lake_root), observed.data_version, df))
    consumed = [
        dataset(product_path(lake_root, upstreams[s.product].domain, upstreams[s.product].asset_name), s.version,
                products[s.product])
        for s in read
    ]
    return bronze + consumed


def _published_version_violations(contract: Contract, published: PublishedTable | None, where: str) -> list:
    """VERSION-001 against the contract the table's current version was published under."""
    if published is None:
        return []
    return version_violations(published.contract, contract, where, f"published Delta v{published.version}")


def check_build(
    df: DataFrame, contract: Contract, *, policies: Policies, static: list, where: str, lake_root: Path,
    read: list[UpstreamVersion], history: dict[str, list[float]], after_pass: Callable[[], None] | None = None,
    as_of: date | None = None,
) -> tuple[ContractReport, dict[str, float]]:
    """Every check of a persisted build: the contract's aggregation (the pass that computes the build,
    then `after_pass`), the key groupings, the governance gate, upstream health and drift.

    `static`: the contract's lint violations; `history`: drift.metric_history of the product; `as_of`:
    the run's as-of date, for the contract's date bounds. Returns the report and the drift metrics with
    their bands (materialization metadata).
    """
    probe = PiiProbe.for_frame(df, contract, expected_rows=previous_rows(history))
    report = evaluate_contract(df, contract, [*probe.metrics(), *drift_metrics(contract, df)], after_pass, as_of)
    published = published_table(lake_root, contract)  # the version this build would replace
    static = static + _published_version_violations(contract, published, where)
    report.outcomes.append(governance_outcome(df, contract, report, probe, policies, static))
    if contract.dependencies:
        report.outcomes.append(_upstream_outcome(read))
    observed = observed_distribution(contract, df, report.metrics, report.row_count)
    distribution, bands = distribution_outcome(observed, history, dated_columns(contract))
    contract_drift = report.outcome(SCHEMA_CHECK).metadata
    report.outcomes += [schema_outcome(df, contract, published, contract_drift), distribution]
    return report, {**observed, **bands}


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
    upstreams = upstreams or {}
    key = product_key(contract.domain, contract.asset_name)
    policies = policies or domain_policies(DOMAINS_DIR / contract.domain)
    where = f"{contract.domain}/contracts/{contract.file_name}"
    static_violations = lint_contract(contract, policies, where)
    ins = {_source_input(t): AssetIn(key=bronze_key(contract.domain, t)) for t in contract.sources}
    # Consumed products are plain deps: the build reads each at a version it vets (see upstream.py).
    deps = [product_key(d.domain, d.name) for d in contract.dependencies]

    @asset(
        key=key,
        ins=ins,
        deps=deps,
        automation_condition=product_condition(contract),
        check_specs=check_specs(contract, key),
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
            "contract_version": contract.version,
            "freshness_sla_hours": contract.sla.freshness_hours,
            "commit_metadata": contract_metadata(contract),  # each Delta commit carries its contract
        },
    )
    def _build(context: AssetExecutionContext, spark: SparkResource, mesh: ProductRun, **inputs):
        if contract.retired(today()):  # a location loaded before the sunset, run after it
            raise Failure(f"{deprecation_notice(contract)}; reload the code location")
        deprecated = _deprecated_dependencies(contract, upstreams, context)
        session, lake_root = spark.spark_session, Path(mesh.lake_root)
        observation = BuildObservation(BuildRun(".".join(key.path), context.run_id, context.job_name), session)
        try:
            yield from _checked_build(context, mesh, lake_root, session, observation, inputs, deprecated)
        except Exception as exc:  # a refusal or a crash; a failed commit is reported by the IO manager
            observation.failed(str(exc))
            raise

    def _checked_build(context, mesh, lake_root, session, observation, inputs, deprecated):
        consumer = mesh.require_own([key], "build")  # the location's domain, not the contract's claim
        read, products = _read_dependencies(contract, upstreams, context, session, lake_root, consumer)
        observation.started(lambda: _input_datasets(contract, upstreams, lake_root, inputs, read, products, sources))
        build = BuildContext(
            spark=session,
            as_of=mesh.as_of_date,
            sources={t: inputs[_source_input(t)] for t in contract.sources},
            products=products,
        )
        history = metric_history(context.instance, key)
        started = time.perf_counter()
        built = started
        df = with_audit_columns(transform(build), contract, datetime.now(UTC), read).persist()

        def pass_done() -> None:  # no count first: the checks' aggregation computes and caches the build
            nonlocal built
            built = time.perf_counter()
            observation.phase("checks")

        try:
            report, drift = check_build(df, contract, policies=policies, static=static_violations, where=where,
                                        lake_root=lake_root, read=read, history=history, after_pass=pass_done,
                                        as_of=mesh.as_of_date)
            checked = time.perf_counter()
            publishes = not report.blocking_failures
            yield from _check_results(report, key, publishes)
            if not publishes:
                raise _refusal(contract, report)
            versions = {s.product: {"version": s.version, "state": s.state, "detail": s.detail} for s in read}
            metadata = {
                "as_of": mesh.as_of,
                "contract_version": contract.version,
                "build_seconds": round(built - started, 3),  # with the row-level checks of the same pass
                "check_seconds": round(checked - built, 3),  # key groupings, governance gate, drift
                **drift,  # with their bands: plotted over time on the asset's page
            }
            if read:
                metadata["source_versions"] = MetadataValue.json(versions)
            if deprecated:
                metadata["deprecated_sources"] = MetadataValue.json(deprecated)
            # When the data was current: the oldest input's data time, at the versions read.
            metadata.update(build_data_time(context.instance, contract, read, get_current_timestamp()))
            observation.phase("publish")
            # Each publish is new data: a new data version makes the automation rebuild its consumers.
            yield Output(df, metadata=metadata, data_version=DataVersion(context.run_id))
        finally:
            df.unpersist()

    return _build



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
