"""The Delta IO manager for PySpark DataFrames, on dagster-deltalake's type-handler extension point."""


from collections.abc import Sequence

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
from mesh_platform.spark import SparkResource
from mesh_platform.storage.delta import read_delta, write_delta

COLUMN_SCHEMA = "dagster/column_schema"


def _described_schema(df: DataFrame, definition_metadata: dict) -> TableSchema:
    """The written schema, with column descriptions carried over from the contract."""
    declared = definition_metadata.get(COLUMN_SCHEMA)
    declared_schema = getattr(declared, "value", declared)
    descriptions = {c.name: c.description for c in getattr(declared_schema, "columns", [])}
    return TableSchema(
        columns=[
            TableColumn(name=f.name, type=f.dataType.simpleString(), description=descriptions.get(f.name))
            for f in df.schema.fields
        ]
    )


class SparkDataFrameTypeHandler(DbTypeHandler[DataFrame]):
    def __init__(self, spark: SparkResource):
        self._spark = spark

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: DataFrame, connection: TableConnection
    ):
        definition_metadata = context.definition_metadata or {}
        commit_metadata = {
            "dagster.run_id": context.run_id,
            "dagster.asset_key": context.asset_key.to_user_string(),
            **{str(k): str(v) for k, v in (definition_metadata.get("commit_metadata") or {}).items()},
        }
        commit = write_delta(obj, connection.table_uri, commit_metadata)
        return {
            "dagster/row_count": MetadataValue.int(commit.row_count),
            COLUMN_SCHEMA: MetadataValue.table_schema(_described_schema(obj, definition_metadata)),
            "dagster/table_name": ".".join(context.asset_key.path),
            "dagster/uri": MetadataValue.path(commit.uri),
            "delta_version": MetadataValue.int(commit.version),
            "size_bytes": MetadataValue.int(commit.size_bytes),
        }

    def load_input(self, context: InputContext, table_slice: TableSlice, connection: TableConnection) -> DataFrame:
        df = read_delta(self._spark.spark_session, connection.table_uri)
        return df.select(*table_slice.columns) if table_slice.columns else df

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [DataFrame]


class MeshDeltaIOManager(DeltaLakeIOManager):
    """Stores every product as a Delta table under the lake root; loads inputs as Spark DataFrames."""

    spark: ResourceDependency[SparkResource]

    @classmethod
    def from_env(cls, spark: SparkResource) -> "MeshDeltaIOManager":
        return cls(root_uri=str(settings.lake_root()), storage_options=LocalConfig(), spark=spark)

    def type_handlers(self) -> Sequence[DbTypeHandler]:  # an instance method: the handler needs Spark
        return [SparkDataFrameTypeHandler(self.spark)]

    @staticmethod
    def default_load_type() -> type | None:
        return DataFrame

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=DeltaLakeDbClient(),
            database="deltalake",
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="MeshDeltaIOManager",
        )
