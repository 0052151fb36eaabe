"""The publish boundary: the Delta IO manager of product builds (a dagster-deltalake type handler).

Every publish passes here: the binding to the location's domain, one atomic Delta commit recording the
contract, the end of the build's observation (lineage COMPLETE, cost); every input load reads through the
same access policy, masking and audit as any platform read.
"""


from collections.abc import Sequence
from pathlib import Path

from dagster import (
    InputContext,
    MetadataValue,
    OutputContext,
    ResourceDependency,
    TableColumn,
    TableSchema,
)
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_deltalake import DeltaLakeIOManager, LocalConfig
from dagster_deltalake.io_manager import DeltaLakeDbClient, TableConnection
from pyspark.sql import DataFrame

from mesh_platform import settings
from mesh_platform.access.binding import DomainBound
from mesh_platform.access.policy import AccessDenied
from mesh_platform.access.reader import open_product
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.revisions import contract_metadata
from mesh_platform.mesh import domain_contracts, domain_sources
from mesh_platform.monitoring.lineage import dataset
from mesh_platform.monitoring.observe import open_observation
from mesh_platform.product.build import Publication
from mesh_platform.product.catalog_metadata import column_schema, delta_description
from mesh_platform.sources import Source
from mesh_platform.sources.assets import declared_source
from mesh_platform.sources.observe import read_source
from mesh_platform.spark import SparkResource
from mesh_platform.storage.delta import publish_staged, read_delta, write_delta
from mesh_platform.storage.layout import BRONZE, GOLD, bronze_path, io_schema, product_key, product_path

COLUMN_SCHEMA = "dagster/column_schema"


def _written_schema(df: DataFrame, contract: Contract | None) -> TableSchema:
    """The written columns and types, with the contract's descriptions, constraints and tags."""
    schema = column_schema(contract) if contract is not None else TableSchema(columns=[])
    declared = {c.name: c for c in schema.columns}
    columns = []
    for f in df.schema.fields:
        known = declared.get(f.name)
        columns.append(TableColumn(name=f.name, type=f.dataType.simpleString()) if known is None else TableColumn(
            name=f.name, type=f.dataType.simpleString(), description=known.description,
            constraints=known.constraints, tags=known.tags))
    return TableSchema(columns=columns, constraints=schema.constraints)


class ProductTables(DeltaLakeDbClient):
    """dagster-deltalake's client, naming tables as the mesh does: `domain.product`, not `domain/gold.product`
    (DbIOManager records it as `dagster/table_name` and in a `Query` that must be valid SQL for the tools
    that show or run it)."""

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        return f"{table_slice.schema.split('/', 1)[0]}.{table_slice.table}"

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        columns = ", ".join(table_slice.columns) if table_slice.columns else "*"
        return f"SELECT {columns} FROM {ProductTables.get_table_name(table_slice)}"


class SparkDataFrameTypeHandler(DbTypeHandler[DataFrame]):
    """Reads and publishes as the domain its IO manager is bound to (`binding`), whatever the asset keys say."""

    def __init__(self, spark: SparkResource, lake_root: Path, binding: DomainBound):
        self._spark = spark
        self._lake_root = lake_root
        self._binding = binding

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: Publication | DataFrame,
        connection: TableConnection,
    ):
        """Commits a product build's Publication with its contract, or a plain DataFrame (an asset assembled
        outside a domain folder) without one."""
        key = context.asset_key
        df, contract = (obj.df, obj.contract) if isinstance(obj, Publication) else (obj, None)
        window = obj.partition if isinstance(obj, Publication) else None
        domain = self._binding.require_own([key], "publish")  # never into another domain's folder
        own = product_path(self._lake_root, domain, key.path[-1])
        if len(key.path) != 2 or Path(connection.table_uri) != own:  # the `schema` metadata must not redirect it
            raise AccessDenied(
                f"{key.to_user_string()} publishes only to {own} (asset key [\"{domain}\", name], "
                f"metadata schema {io_schema(domain, GOLD)!r}), not to {connection.table_uri}"
            )
        if contract is not None and product_key(contract.domain, contract.asset_name) != key:
            raise AccessDenied(
                f"{key.to_user_string()} may not publish under the contract of {contract.key} "
                f"({contract.file_name}); build each product with product_asset(its own contract)"
            )
        commit_metadata = {
            "dagster.run_id": context.run_id,
            "dagster.asset_key": context.asset_key.to_user_string(),
            **(contract_metadata(contract) if contract is not None else {}),  # the contract, whole
            **({"mesh.partitions": window.label} if window else {}),
        }
        observation = open_observation(context.run_id, ".".join(context.asset_key.path))
        try:
            described = delta_description(contract) if contract is not None else None
            staged = obj.staged if isinstance(obj, Publication) else None
            if staged is not None and staged.table_root != own:
                raise AccessDenied(f"{key.to_user_string()} publishes only to {own}, not files staged in "
                                   f"{staged.table_root}")
            commit = (publish_staged(staged, commit_metadata, described) if staged is not None else
                      write_delta(df, connection.table_uri, commit_metadata, described,
                                  partitions=window.layout() if window else None))
        except Exception as exc:  # nothing committed: the previous version stays current
            if observation:
                observation.failed(f"Delta commit failed: {exc}")
            raise
        observed = observation.completed(dataset(commit.uri, commit.version, df), commit.row_count,
                                         commit.size_bytes) if observation else {}
        return {
            "dagster/row_count": MetadataValue.int(commit.row_count),
            COLUMN_SCHEMA: MetadataValue.table_schema(_written_schema(df, contract)),
            "dagster/table_name": ".".join(context.asset_key.path),
            "dagster/uri": MetadataValue.path(commit.uri),
            "delta_version": MetadataValue.int(commit.version),
            "size_bytes": MetadataValue.int(commit.size_bytes),
            **observed,  # OpenLineage COMPLETE sent; the build's compute and storage cost
        }

    def load_input(self, context: InputContext, table_slice: TableSlice, connection: TableConnection) -> DataFrame:
        step = context.step_context
        consumer = self._binding.require_own(step.assets_def.keys, "load inputs")
        upstream = context.asset_key.path
        contract = domain_contracts(upstream[0]).get(".".join(upstream)) if len(upstream) == 2 else None
        if contract is None:  # a bronze source: internal to its domain
            # Read where the key says, never where the input's `schema` metadata points.
            if len(upstream) != 3 or upstream[1] != BRONZE or upstream[0] != consumer:
                raise AccessDenied(
                    f"{consumer} may not read {context.asset_key.to_user_string()}: only published products "
                    f"of other domains and {consumer}'s own bronze tables ([\"{consumer}\", \"bronze\", table]) "
                    "can be loaded; consume one of the owner's published products instead"
                )
            source = self._declared_source(context, consumer)
            if source is None:  # an undeclared table (an asset assembled outside a domain folder): as it is
                df = read_delta(self._spark.spark_session, bronze_path(self._lake_root, consumer, upstream[2]))
            else:  # exactly the declared columns; SourceDrift when the data no longer fits the declaration
                df = read_source(self._spark.spark_session, source, consumer, self._lake_root)
            return df.select(*table_slice.columns) if table_slice.columns else df
        # A product: the same policy, masking, row filter and audit as every platform read.
        reader = ", ".join(key.to_user_string() for key in step.assets_def.keys)
        read = open_product(
            self._spark.spark_session, contract, consumer, self._lake_root, columns=table_slice.columns or None,
            via="io_manager", run_id=step.run_id, read_by=reader,
        )
        if read.observation:
            context.instance.report_runless_asset_event(read.observation)
        return read.df

    @staticmethod
    def _declared_source(context: InputContext, domain: str) -> Source | None:
        """The declaration the source asset carries (sources/assets.py), else the domain's sources.yaml."""
        name = context.asset_key.path[-1]
        source = declared_source(context.upstream_output.definition_metadata if context.upstream_output else None)
        return source if source and source.name == name else domain_sources(domain).get(name)

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [DataFrame, Publication]  # loads are DataFrames (default_load_type)


class MeshDeltaIOManager(DeltaLakeIOManager, DomainBound):
    """Stores every product as a Delta table under the lake root; loads inputs as Spark DataFrames.

    Use `MeshDeltaIOManager.bound_to(domain)`: the unbound class reads and publishes nothing.
    """

    spark: ResourceDependency[SparkResource]

    @classmethod
    def from_env(cls, spark: SparkResource) -> "MeshDeltaIOManager":
        return cls(root_uri=str(settings.lake_root()), storage_options=LocalConfig(), spark=spark)

    def type_handlers(self) -> Sequence[DbTypeHandler]:  # an instance method: the handler needs Spark
        return [SparkDataFrameTypeHandler(self.spark, Path(self.root_uri), self)]

    @staticmethod
    def default_load_type() -> type | None:
        return DataFrame

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=ProductTables(), database="deltalake", schema=self.schema_, type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(), io_manager_name="DeltaLakeIOManager",
        )
