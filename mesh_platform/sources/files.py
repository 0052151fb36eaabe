"""`kind: files` sources: Parquet, CSV or JSON (one object per line) files landing in a folder.

An observation reads no data: the data version is a hash of the file set (names, sizes, modification
times), the row count and columns come from Parquet footers (a CSV file's header line; JSON files tell
neither without a read). A read first validates every file, each on its own (it parses, streamed through
Arrow with the declared types, and its columns fit the declaration), and fails naming every bad file,
so that no product is built from half of a file; then Spark reads the files with the declared schema.
"""

from __future__ import annotations

import csv
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import csv as pa_csv
from pyarrow import json as pa_json

from mesh_platform.contracts.types import spark_type
from mesh_platform.sources.model import Source
from mesh_platform.sources.observation import (
    SourceDrift,
    SourceObservation,
    arrow_columns,
    conform,
    drift,
    epoch_seconds,
    source_label,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def folder(source: Source, lake_root: Path) -> Path:
    return Path(lake_root) / source.files.path  # an absolute path stays itself


def landed_files(source: Source, lake_root: Path) -> list[Path]:
    """The files of the source, sorted; hidden and temporary files (a landing in progress) excluded."""
    return sorted(p for p in folder(source, lake_root).glob(source.files.glob)
                  if p.is_file() and not p.name.startswith((".", "_")))


def file_set_version(files: list[Path], root: Path) -> str:
    """A hash of the files' paths under `root`, sizes and modification times: no byte of data is read."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _name(path: Path, source: Source, lake_root: Path) -> str:
    return str(path.relative_to(folder(source, lake_root)))  # a glob may reach into subfolders


def _arrow_type(contract_type: str) -> pa.DataType:
    from pyspark.sql.pandas.types import to_arrow_type

    if contract_type == "timestamp":  # landed text holds local, zone-less times, as Spark's CSV reader reads them
        return pa.timestamp("us")
    return to_arrow_type(spark_type(contract_type), timezone="UTC")


def _header(path: Path, source: Source) -> list[str]:
    with path.open(newline="") as text:
        first = next(csv.reader(text), [])
    return first if source.files.header else list(source.columns)  # headerless: the declared order


def _text_batches(path: Path, source: Source, columns: list[str]):
    """The file's batches parsed by Arrow: CSV with the declared types, JSON with its own (cast after)."""
    if source.files.format == "json":
        return pa_json.open_json(path)
    types = {c: _arrow_type(source.columns[c]) for c in columns}
    header = None if source.files.header else list(source.columns)
    return pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(column_names=header),
                           convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=columns))


def _text_newest(path: Path, source: Source) -> float | None:
    stat = path.stat()
    return _newest_in_file(str(path), stat.st_size, stat.st_mtime_ns, source.model_dump_json())


@lru_cache(maxsize=4096)
def _newest_in_file(path: str, size: int, mtime_ns: int, declaration: str) -> float | None:
    """The newest loaded_at_field value of a text file: one column parsed, once per landed file (keyed on
    its size and modification time, which change when it is rewritten, and on the declaration)."""
    source = Source.model_validate_json(declaration)
    column = source.freshness.loaded_at_field
    target = _arrow_type(source.columns[column])
    maxima = [epoch_seconds(pc.max(pc.cast(batch.column(column), target)))
              for batch in _text_batches(Path(path), source, [column]) if column in batch.schema.names]
    return max((m for m in maxima if m is not None), default=None)


def _observe_file(path: Path, source: Source) -> tuple[dict[str, str], int | None, float | None]:
    """A file's columns, row count and newest `loaded_at_field` value, from its footer or header only."""
    fmt, loaded_at = source.files.format, source.freshness.loaded_at_field if source.freshness else None
    if fmt == "parquet":
        meta = pq.read_metadata(path)
        columns = arrow_columns(meta.schema.to_arrow_schema())
        newest = None
        if loaded_at in columns:
            index = meta.schema.names.index(loaded_at)
            maxima = [meta.row_group(g).column(index).statistics for g in range(meta.num_row_groups)]
            values = [epoch_seconds(s.max) for s in maxima if s is not None and s.has_min_max]
            newest = max(values) if values else None
        return columns, meta.num_rows, newest
    newest = _text_newest(path, source) if loaded_at else None
    if fmt == "csv":  # a header names columns, not types: a present column counts as its declared type
        return {c: source.columns.get(c, "string") for c in _header(path, source)}, None, newest
    return dict(source.columns), None, newest  # JSON: the keys are known only by reading; checked on read


def observe(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    files = landed_files(source, lake_root)
    problems, rows, newest, columns = [], 0, None, {}
    for path in files:
        try:
            observed, count, latest = _observe_file(path, source)
        except (OSError, pa.ArrowException, csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"file {_name(path, source, lake_root)} does not parse as {source.files.format}: {exc}")
            continue
        problems += drift(source, observed, f"file {_name(path, source, lake_root)}")
        columns = columns or observed
        rows = None if rows is None or count is None else rows + count
        newest = max((t for t in (newest, latest) if t is not None), default=None)
    if not files:
        problems.append(f"no files match {source.files.glob} in {folder(source, lake_root)}")
    version = file_set_version(files, folder(source, lake_root))
    return SourceObservation(version, rows if files else 0, newest, columns, problems)


def _validate(path: Path, source: Source) -> str | None:
    """Why the file cannot be read as declared, or None: parsed to its end with the declared types."""
    fmt = source.files.format
    types = {c: _arrow_type(t) for c, t in source.columns.items()}
    try:
        if fmt == "parquet":
            problems = drift(source, arrow_columns(pq.read_schema(path)))
            return "; ".join(problems) or None
        if fmt == "csv":
            header = _header(path, source)
            missing = [c for c in source.columns if c not in header]
            if missing:
                return f"column {missing[0]} is missing (the header has {', '.join(header)})"
        for batch in _text_batches(path, source, list(source.columns)):  # streamed, never held whole
            if fmt == "json":  # JSON values carry their own types: each must convert to the declared one
                for column, type_ in types.items():
                    if column not in batch.schema.names:
                        return f"column {column} is missing (a line has no {column!r} key)"
                    pc.cast(batch.column(column), type_)
        return None
    except (OSError, pa.ArrowException, csv.Error, UnicodeDecodeError) as exc:
        return f"does not parse as {fmt}: {str(exc).splitlines()[0]}"


def read(spark: SparkSession, source: Source, domain: str, lake_root: Path) -> DataFrame:
    files = landed_files(source, lake_root)
    if not files:
        raise SourceDrift(f"source {source_label(source, domain)}: no files match {source.files.glob} in "
                          f"{folder(source, lake_root)}")
    bad = [f"file {_name(p, source, lake_root)}: {why}" for p in files if (why := _validate(p, source))]
    if bad:
        raise SourceDrift(f"source {source_label(source, domain)}: nothing read, {len(bad)} of {len(files)} "
                          "files do not fit the declaration: " + "; ".join(bad))
    return conform(_spark_read(spark, source, files), source)


def _spark_read(spark: SparkSession, source: Source, files: list[Path]) -> DataFrame:
    from pyspark.sql import types as T

    fmt, uris = source.files.format, [p.resolve().as_uri() for p in files]
    if fmt == "parquet":
        return spark.read.parquet(*uris)
    if fmt == "json":
        schema = T.StructType([T.StructField(c, spark_type(t)) for c, t in source.columns.items()])
        return spark.read.schema(schema).option("mode", "FAILFAST").json(uris)
    # CSV maps columns by position: read each header layout with its own schema, then by name.
    layouts: dict[tuple[str, ...], list[str]] = {}
    for path, uri in zip(files, uris):
        layouts.setdefault(tuple(_header(path, source)), []).append(uri)
    frames = []
    for header, group in layouts.items():
        schema = T.StructType([T.StructField(c, spark_type(source.columns.get(c, "string"))) for c in header])
        frames.append(spark.read.schema(schema).option("header", source.files.header).option("escape", '"')
                      .option("mode", "FAILFAST").csv(group))  # RFC 4180 quotes, as Arrow parsed them
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other, allowMissingColumns=True)
    return df
