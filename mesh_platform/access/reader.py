"""The one read path for products: policy, row filter and masking in the Spark plan, then the audit.

Dagster builds (the product factory and the IO manager), `mesh read` and notebooks all read products
here, so a consumer sees the same rows and masks whichever way it reads.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetObservation, DagsterInstance
from deltalake.exceptions import DeltaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mesh_platform import settings
from mesh_platform.access.audit import ReadEvent, reads, record, usage
from mesh_platform.access.masking import apply_masking
from mesh_platform.access.policy import ReadPolicy, read_policy
from mesh_platform.contracts.lifecycle import deprecation_notice
from mesh_platform.contracts.model import Contract
from mesh_platform.instance import get_instance
from mesh_platform.mesh import find_contract
from mesh_platform.spark.resource import SparkResource
from mesh_platform.storage.delta import file_totals, open_table, read_table
from mesh_platform.storage.layout import product_key, product_path


class DeprecatedProductWarning(UserWarning):
    """Reading a major version past its deprecation (shown by default, unlike DeprecationWarning)."""


@dataclass(frozen=True)
class ProductRead:
    """A product as one consumer sees it, at one Delta version."""

    df: DataFrame
    contract: Contract
    policy: ReadPolicy
    version: int
    stats_rows: int  # rows of the table version, from the Delta log

    def visible_rows(self) -> int:
        """Rows the consumer can see: free from the Delta log, one count when a row filter applies."""
        return self.df.count() if self.policy.row_filter else self.stats_rows

    def event(self, rows: int, via: str, run_id: str | None = None, read_by: str | None = None) -> ReadEvent:
        return ReadEvent(
            product=self.contract.key, version=self.version, consumer=self.policy.consumer,
            read_at=datetime.now(UTC), columns=list(self.df.columns), rows=rows,
            masked=sorted(set(self.policy.masking) & set(self.df.columns)),
            row_filter=self.policy.row_filter, via=via, run_id=run_id, read_by=read_by,
            deprecation=deprecation_notice(self.contract),
        )


def _table_version(contract: Contract, lake_root: Path, version: int | None):
    uri = product_path(lake_root, contract.domain, contract.asset_name)
    if version is not None and version >= 0:
        try:
            return open_table(uri, version)  # one log read in the common case: a pinned, existing version
        except DeltaError:  # a version past the log's end: say which ones exist
            pass
    current = open_table(uri)  # TableMissing names the path when the product was never published
    if version is None:
        return current
    raise ValueError(f"{contract.key} has no version {version} (versions 0 to {current.version()})")


def open_product(
    spark: SparkSession,
    contract: Contract,
    consumer: str,
    lake_root: Path,
    version: int | None = None,
    columns: list[str] | None = None,
) -> ProductRead:
    """`contract`'s product as `consumer` may see it; AccessDenied if it may not read it at all."""
    policy = read_policy(contract, consumer)
    table = _table_version(contract, lake_root, version)
    types = contract.published_columns
    unknown = [c for c in columns or [] if c not in types]
    if unknown:
        raise ValueError(f"{contract.key} has no column {', '.join(unknown)} (it has {', '.join(types)})")
    df = read_table(spark, table)
    if policy.row_filter:  # on clear values, before masking: the owner's predicate means the real data
        df = df.where(F.expr(policy.row_filter))
    df = apply_masking(df, policy.masking, types, lake_root)
    if columns:
        df = df.select(*columns)
    return ProductRead(df, contract, policy, table.version(), file_totals(table)[0])


def usage_observation(lake_root: Path, product: str) -> AssetObservation:
    """The product's usage so far, as an observation on its asset (shown in the Dagster UI)."""
    summary = usage(reads(lake_root, product))[product]
    domain, name = product.split(".")
    return AssetObservation(asset_key=product_key(domain, name), metadata=summary.metadata())


def audit_read(
    read: ProductRead, lake_root: Path, rows: int, via: str, run_id: str | None = None, read_by: str | None = None
) -> AssetObservation:
    record(lake_root, read.event(rows, via, run_id, read_by))
    return usage_observation(lake_root, read.contract.key)


def read_product(
    product: str,
    as_domain: str,
    *,
    version: int | None = None,
    columns: list[str] | None = None,
    spark: SparkSession | None = None,
    instance: DagsterInstance | None = None,
) -> DataFrame:
    """Read a published product (`domain.product`) as consumer domain `as_domain`.

    For notebooks and ad-hoc PySpark: the same policy as Dagster builds (AccessDenied when the
    contract does not list `as_domain`), masking and row filters applied, the read audited and its
    usage shown on the product's asset in the Dagster UI.
    """
    lake_root = settings.lake_root()
    spark = spark or SparkResource.from_env().spark_session
    contract = find_contract(product)
    notice = deprecation_notice(contract)
    if notice:
        warnings.warn(notice, DeprecatedProductWarning, stacklevel=2)
    read = open_product(spark, contract, as_domain, lake_root, version, columns)
    observation = audit_read(read, lake_root, read.visible_rows(), via="api")
    (instance or get_instance()).report_runless_asset_event(observation)
    return read.df
