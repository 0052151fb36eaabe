"""The one read path for products: policy, row filter and masking in the Spark plan, then the audit.

Dagster builds (the product factory and the IO manager), `mesh read` and notebooks all read products
here, so a consumer sees the same rows and masks whichever way it reads.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetObservation, DagsterInstance
from deltalake.exceptions import DeltaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mesh_platform import settings
from mesh_platform.access.audit import ReadEvent
from mesh_platform.access.credentials import LocalIdentityWarning, authenticate, domain_principals
from mesh_platform.access.masking import apply_masking
from mesh_platform.access.policy import ReadPolicy
from mesh_platform.access.recording import authorize, record_read
from mesh_platform.contracts.lifecycle import deprecation_notice
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.row_filters import vetted_filter_sql
from mesh_platform.instance import get_instance
from mesh_platform.mesh import find_contract
from mesh_platform.spark.resource import SparkResource
from mesh_platform.storage.delta import file_totals, open_table, read_table
from mesh_platform.storage.layout import product_path


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
    limit: int | None = None
    observation: AssetObservation | None = None  # the usage after this read; None if it went unrecorded

    def visible_rows(self) -> int:
        """Rows the consumer can see: free from the Delta log, one count when a row filter applies."""
        if self.policy.row_filter:
            return self.df.count()
        return self.stats_rows if self.limit is None else min(self.limit, self.stats_rows)

    def event(self, rows: int, via: str, run_id: str | None = None, read_by: str | None = None,
              credential: str | None = None) -> ReadEvent:
        return ReadEvent(
            product=self.contract.key, version=self.version, consumer=self.policy.consumer,
            read_at=datetime.now(UTC), columns=list(self.df.columns), rows=rows,
            masked=sorted(set(self.policy.masking) & set(self.df.columns)),
            row_filter=self.policy.row_filter, via=via, run_id=run_id, read_by=read_by,
            deprecation=deprecation_notice(self.contract), credential=credential,
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
    *,
    via: str = "api",
    run_id: str | None = None,
    read_by: str | None = None,
    limit: int | None = None,
    credential: str | None = None,
) -> ProductRead:
    """`contract`'s product as `consumer` may see it (at most `limit` rows), the read or its denial recorded
    once in the audit; AccessDenied if it may not read it at all, AuditUnreadable if the audit is broken."""
    policy = authorize(contract, consumer, lake_root, via=via, run_id=run_id, read_by=read_by, columns=columns,
                       credential=credential)
    table = _table_version(contract, lake_root, version)
    types = contract.published_columns
    unknown = [c for c in columns or [] if c not in types]
    if unknown:
        raise ValueError(f"{contract.key} has no column {', '.join(unknown)} (it has {', '.join(types)})")
    df = read_table(spark, table)
    if policy.row_filter:  # on clear values, before masking: the owner's predicate means the real data
        # re-vetted and printed by sqlglot: Spark evaluates only what the row-filter check accepted
        df = df.where(F.expr(vetted_filter_sql(policy.row_filter, types)))
    df = apply_masking(df, policy.masking, types, lake_root)
    if columns:
        df = df.select(*columns)
    if limit is not None:
        df = df.limit(limit)
    read = ProductRead(df, contract, policy, table.version(), file_totals(table)[0], limit)
    event = read.event(read.visible_rows(), via, run_id, read_by, credential)
    recorded = record_read(event, contract.domain, lake_root)
    return replace(read, observation=recorded)


def read_product(
    product: str,
    as_domain: str,
    *,
    version: int | None = None,
    columns: list[str] | None = None,
    spark: SparkSession | None = None,
    instance: DagsterInstance | None = None,
    credential: str | None = None,
) -> DataFrame:
    """Read a published product (`domain.product`) as consumer domain `as_domain`.

    For notebooks and ad-hoc PySpark: the same policy as Dagster builds (AccessDenied when the
    contract does not list `as_domain`), masking and row filters applied, the read audited and its
    usage shown on the product's asset in the Dagster UI. Once the lake enforces identity, acting as
    `as_domain` needs a credential for it (`credential`, else MESH_TOKEN or the credentials file):
    IdentityError otherwise.
    """
    lake_root = settings.lake_root()
    identity = authenticate(lake_root, domain_principals(as_domain), credential)
    if identity.notice():
        warnings.warn(identity.notice(), LocalIdentityWarning, stacklevel=2)
    spark = spark or SparkResource.from_env().spark_session
    contract = find_contract(product)
    notice = deprecation_notice(contract)
    if notice:
        warnings.warn(notice, DeprecatedProductWarning, stacklevel=2)
    read = open_product(spark, contract, as_domain, lake_root, version, columns, via="api",
                        credential=identity.credential_id)
    (instance or get_instance()).report_runless_asset_event(read.observation)
    return read.df
