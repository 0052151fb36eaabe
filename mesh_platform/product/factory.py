"""Contract + transform function -> one Dagster asset with its checks and freshness policy."""


from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    AssetSpec,
    Failure,
    FreshnessPolicy,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.checks import ContractReport, check_specs, evaluate_contract
from mesh_platform.contracts.model import Contract
from mesh_platform.product.build import BuildContext, Transform
from mesh_platform.product.docs import product_markdown
from mesh_platform.product.run import ProductRun
from mesh_platform.spark import SparkResource
from mesh_platform.storage.layout import BRONZE, GOLD, bronze_key, io_schema, product_key


def _source_input(table: str) -> str:
    return f"source__{table}"


def _product_input(key: str) -> str:
    return "product__" + key.replace(".", "__")


def freshness_policy(contract: Contract) -> FreshnessPolicy:
    warn = contract.sla.warn_after_hours
    return FreshnessPolicy.time_window(
        fail_window=timedelta(hours=contract.sla.freshness_hours),
        warn_window=timedelta(hours=warn) if warn else None,
    )


def column_schema(contract: Contract) -> TableSchema:
    audit = {"_computed_at": "UTC time of the build", "_product_version": "contract version of the build"}
    descriptions = {c.name: c.description for c in contract.columns} | audit
    return TableSchema(
        columns=[
            TableColumn(name=name, type=type_, description=descriptions[name])
            for name, type_ in contract.published_columns.items()
        ]
    )


def with_audit_columns(df: DataFrame, contract: Contract, computed_at: datetime) -> DataFrame:
    """Adds `_computed_at`/`_product_version` and puts the contract's columns first, in its order."""
    df = df.withColumn("_computed_at", F.lit(computed_at).cast("timestamp")).withColumn(
        "_product_version", F.lit(contract.version)
    )
    declared = [c for c in contract.published_columns if c in df.columns]
    return df.select(*declared, *[c for c in df.columns if c not in contract.published_columns])


def _check_results(report: ContractReport, key) -> Iterator[AssetCheckResult]:
    for outcome in report.outcomes:
        yield AssetCheckResult(
            asset_key=key,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=AssetCheckSeverity.ERROR if outcome.critical else AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={k: MetadataValue.json(v) if isinstance(v, dict | list) else v
                      for k, v in outcome.metadata.items()},
        )


def _refusal(contract: Contract, report: ContractReport) -> Failure:
    failed = ", ".join(o.name for o in report.blocking_failures)
    return Failure(
        description=f"{contract.key} breaks its contract ({failed}); not published, the previous "
        "version stays current",
        metadata={"failed_checks": [o.name for o in report.blocking_failures]},
    )


def product_asset(contract: Contract, transform: Transform) -> AssetsDefinition:
    key = product_key(contract.domain, contract.name)
    ins = {_source_input(t): AssetIn(key=bronze_key(contract.domain, t)) for t in contract.sources}
    ins |= {
        _product_input(d.product): AssetIn(key=product_key(d.domain, d.name)) for d in contract.dependencies
    }

    @asset(
        key=key,
        ins=ins,
        check_specs=check_specs(contract, key),
        group_name=contract.domain,
        owners=[contract.owner],
        kinds={"spark", "deltalake"},
        code_version=contract.version,
        description=product_markdown(contract),
        freshness_policy=freshness_policy(contract),
        tags={"mesh/domain": contract.domain, "mesh/kind": contract.kind.replace("-", "_")},
        metadata={
            "schema": io_schema(contract.domain, GOLD),
            "dagster/column_schema": column_schema(contract),
            "contract_version": contract.version,
            "freshness_sla_hours": contract.sla.freshness_hours,
            "commit_metadata": {"product.version": contract.version, "product.owner": contract.owner},
        },
    )
    def _build(context: AssetExecutionContext, spark: SparkResource, mesh: ProductRun, **inputs):
        build = BuildContext(
            spark=spark.spark_session,
            as_of=mesh.as_of_date,
            sources={t: inputs[_source_input(t)] for t in contract.sources},
            products={d.product: inputs[_product_input(d.product)] for d in contract.dependencies},
        )
        df = with_audit_columns(transform(build), contract, datetime.now(UTC)).persist()
        try:
            report = evaluate_contract(df, contract)
            yield from _check_results(report, key)
            if report.blocking_failures:
                raise _refusal(contract, report)
            yield Output(df, metadata={"as_of": mesh.as_of, "contract_version": contract.version})
        finally:
            df.unpersist()

    _build.__name__ = f"{contract.domain}__{contract.name}"
    return _build


def bronze_spec(domain: str, table: str, owner: str) -> AssetSpec:
    """A domain's own source table, written by its operational systems (here: `mesh seed`)."""
    return AssetSpec(
        key=bronze_key(domain, table),
        group_name=domain,
        owners=[owner],
        kinds={"deltalake"},
        description=f"Bronze source `{table}` of the {domain} domain (refreshed by `mesh seed`).",
        metadata={"schema": io_schema(domain, BRONZE)},
        tags={"mesh/domain": domain, "mesh/layer": BRONZE},
    )
