"""`jdbc` sources: a table or a query in an operational PostgreSQL database.

Observing is cheap: one statement computes the declaration's change probe (its value is the data
version) and the newest-data time, and the catalog tells the columns; the data itself is never read.
Reading is exactly the declared columns, cast to the declared types, by the engine's own means:
- the JVM engine (a classic session with Debian's driver jar, /usr/share/java/postgresql.jar): Spark's
  JDBC reader, credentials as reader options (the URL carries none, and nothing logs the options);
- an engine without JDBC (Sail, Spark Connect): ADBC's PostgreSQL driver (libpq) fetches Arrow, which
  `spark.createDataFrame` hands to the engine.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyspark.sql import DataFrame

from mesh_platform.contracts.types import DECIMAL
from mesh_platform.sources import postgres
from mesh_platform.sources.model import Source
from mesh_platform.sources.observation import SourceObservation, conform, require_fit

DRIVER_JAR = Path("/usr/share/java/postgresql.jar")
COUNT = re.compile(r"^\s*count\s*\(\s*\*\s*\)\s*$", re.IGNORECASE)
_SIMPLE_TYPES = {
    "bigint": "bigint", "integer": "int", "smallint": "int", "text": "string", "character varying": "string",
    "character": "string", "double precision": "double", "real": "double", "boolean": "boolean", "date": "date",
    "timestamp with time zone": "timestamp", "timestamp without time zone": "timestamp",
}
# observed -> declared types a read casts without loss
_WIDENS = {("int", "bigint"), ("int", "double"), ("bigint", "double"), ("date", "timestamp")}


def _relation(source: Source) -> str:
    jdbc = source.jdbc
    return jdbc.table if jdbc.table else f"({jdbc.query})"


def _contract_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        return f"decimal({precision},{scale})" if precision is not None else "decimal"  # unconstrained numeric
    return _SIMPLE_TYPES.get(data_type, data_type)


def _observed_columns(db, source: Source) -> dict[str, str]:
    """Column -> contract type, from the catalog: the table's, or a temporary view of the query's."""
    if source.jdbc.query:
        postgres.rows(db, f"CREATE TEMPORARY VIEW mesh_observed AS {source.jdbc.query}")
        schema, name = "pg_temp", "mesh_observed"
    else:
        schema, _, name = source.jdbc.table.rpartition(".")
    try:
        found = postgres.rows(db, (
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = $1 AND table_schema = " + (
                "(SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema())" if schema == "pg_temp"
                else "$2" if schema else "current_schema()") + " ORDER BY ordinal_position"
        ), (name, schema) if schema and schema != "pg_temp" else (name,))
    finally:
        if source.jdbc.query:
            postgres.rows(db, "DROP VIEW IF EXISTS mesh_observed")
    return {column: _contract_type(t, p, s) for column, t, p, s in found}


def _fits(observed: str, declared: str) -> bool:
    if observed == declared or (observed, declared) in _WIDENS:
        return True
    declared_decimal, observed_decimal = DECIMAL.match(declared), DECIMAL.match(observed)
    if declared_decimal and observed == "decimal":
        return True  # an unconstrained numeric: the cast to the declared precision is the contract
    if declared_decimal and observed_decimal:
        (p, s), (dp, ds) = map(int, observed_decimal.groups()), map(int, declared_decimal.groups())
        return s <= ds and p - s <= dp - ds
    return declared == "string"  # anything reads as text


def drift(source: Source, observed: dict[str, str]) -> list[str]:
    """One line per declared column that is missing or whose observed type does not fit. Unlike a file's,
    a database column may be narrower than declared (an integer read as bigint): the read casts it."""
    problems = []
    for column, declared in source.columns.items():
        if column not in observed:
            problems.append(f"column {column} is missing (declared {declared})")
        elif not _fits(observed[column], declared):
            problems.append(f"column {column} is {observed[column]}, declared {declared}")
    return problems


def _newest_expression(source: Source) -> str:
    fresh = source.freshness
    if fresh and fresh.loaded_at_field:
        return f'extract(epoch FROM max(src."{fresh.loaded_at_field}"))::float8'
    return "NULL::float8"


def observe(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    """The change probe's value (the data version), row count where cheap, newest-data time and columns."""
    conn = postgres.connection(source, domain)
    probe = source.jdbc.change_probe
    with postgres.connect(conn) as db:
        value, newest = postgres.rows(db, (
            f"SELECT ({probe})::text, {_newest_expression(source)} FROM {_relation(source)} AS src"
        ))[0]
        fresh = source.freshness
        if fresh and fresh.loaded_at_query:
            newest = postgres.rows(db, f"SELECT extract(epoch FROM ({fresh.loaded_at_query}))::float8")[0][0]
        if COUNT.match(probe):
            row_count = int(value)
        elif source.jdbc.table:  # the planner's estimate: free, and close enough to show
            estimate = postgres.rows(db, "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)",
                                     (source.jdbc.table,))
            row_count = int(estimate[0][0]) if estimate and estimate[0][0] is not None and estimate[0][0] >= 0 else None
        else:
            row_count = None
        columns = _observed_columns(db, source)
        db.rollback()  # observing writes nothing (the query's temporary view goes with the transaction)
    return SourceObservation(
        data_version=str(value) if value is not None else "null",
        row_count=row_count,
        newest_data_time=float(newest) if newest is not None else None,
        columns=columns,
        problems=drift(source, columns),
    )


def reader(spark) -> str:
    """`spark-jdbc` on a classic session that has the driver jar, else `adbc` (Sail, Spark Connect)."""
    classic = not type(spark).__module__.startswith("pyspark.sql.connect")
    if classic and DRIVER_JAR.is_file() and str(DRIVER_JAR) in spark.sparkContext.getConf().get("spark.jars", ""):
        return "spark-jdbc"
    return "adbc"


def _select(source: Source) -> str:
    columns = ", ".join(f'"{c}"' for c in source.columns)
    return f"SELECT {columns} FROM {_relation(source)} AS src"


def read(spark, source: Source, domain: str, lake_root: Path) -> DataFrame:
    """Exactly the declared columns, cast to the declared types; SourceDrift when the table no longer fits."""
    import pyarrow as pa

    conn, how = postgres.connection(source, domain), reader(spark)
    with postgres.connect(conn) as db:
        require_fit(source, domain, drift(source, _observed_columns(db, source)))
        if how == "adbc":
            table = postgres.fetch_arrow(db, _select(source))
        db.rollback()
    if how == "spark-jdbc":
        df = (spark.read.format("jdbc")
              .option("url", conn.jdbc_url).option("driver", "org.postgresql.Driver")
              .option("query", _select(source))
              .option("user", conn.user).option("password", conn.password)
              .option("fetchsize", "10000").load())
    else:
        # numeric arrives as PostgreSQL's own text (an Arrow extension type): hand Spark its storage, cast there
        table = pa.table([c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in (
            col.combine_chunks() for col in table.columns)], names=table.column_names)
        df = spark.createDataFrame(table)
    return conform(df, source)
