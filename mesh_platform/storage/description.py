"""What a Delta table says about itself: its name, description, required columns and column comments.

Spark, Unity Catalog and Delta crawlers read the table's metadata, not our contracts: the table's `name` and
`description` (the Delta metadata action) and each field's `nullable` and `comment` (its metadata). Both
write paths (Arrow in delta.py, executor files in spark_write.py) commit the schema this gives, and refuse
a build with a null in a required column: the Delta schema would otherwise promise what the files break.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

COMMENT = "comment"  # the field metadata key Spark and Unity Catalog show as a column's comment


class RequiredColumnNull(ValueError):
    """A build with a null in a column its contract declares `nullable: false`."""


@dataclass(frozen=True)
class TableDescription:
    name: str  # the logical table name, `domain.product`
    description: str = ""
    required: frozenset[str] = frozenset()
    comments: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # where the promise is written (the contract file), for error messages

    def _null_error(self, column: str, nulls: int | None = None) -> str:
        count = f"{nulls} null value(s)" if nulls is not None else "a null value"
        return (f"{self.source or self.name}: required column {column} of {self.name} holds {count}; "
                "fill it in the transform or declare the column nullable: true")

    def arrow_schema(self, schema: pa.Schema) -> pa.Schema:
        """`schema` with the required columns non-nullable and each column's comment."""
        fields = []
        for f in schema:
            comment = self.comments.get(f.name)
            metadata = {**(f.metadata or {}), COMMENT.encode(): comment.encode()} if comment else f.metadata
            fields.append(pa.field(f.name, f.type, nullable=f.name not in self.required, metadata=metadata))
        return pa.schema(fields, metadata=schema.metadata)

    def described_arrow(self, data: pa.Table) -> pa.Table:
        """`data` under `arrow_schema`; RequiredColumnNull when a required column holds nulls."""
        for name in sorted(self.required & set(data.column_names)):
            nulls = data.column(name).null_count
            if nulls:
                raise RequiredColumnNull(self._null_error(name, nulls))
        return data.cast(self.arrow_schema(data.schema))

    def guarded(self, df: DataFrame) -> DataFrame:
        """`df` whose write job fails on the first null of a required column (no extra Spark job)."""
        return df.select(*[
            F.when(F.col(c).isNull(), F.raise_error(F.lit(self._null_error(c)))).otherwise(F.col(c)).alias(c)
            if c in self.required else F.col(c)
            for c in df.columns
        ])

    def null_error_in(self, error: BaseException) -> str | None:
        """The message `guarded` raised, when `error` (a failed Spark job) carries it."""
        text = str(error)
        return next((self._null_error(c) for c in sorted(self.required) if self._null_error(c) in text), None)

    def label(self, uri: str | Path) -> None:
        """Sets the existing table's name and description where they differ (a metadata-only commit, before
        the publish's own; a new table gets them in its first commit)."""
        table = DeltaTable(str(uri))
        metadata = table.metadata()
        if metadata.name != self.name:
            table.alter.set_table_name(self.name)
        if (metadata.description or "") != self.description:
            table.alter.set_table_description(self.description)
