"""Which values of a column the rows changed since the last look hold: what an incremental refresh rebuilds.

`changed_values(source, ..., column, since)` returns the distinct values of `column` (a product's
partition column in that source, contracts/partitioning.py `from_sources`) among the rows changed since
`since` (the `ChangeMark` of the previous look; None: the first look, which only sets the mark), or
EVERYTHING when the source cannot tell. Cheap, never a full read:
- delta with a `change_column`: the commits since the mark's version; appends, merges and updates are
  told by rows whose change column is past the mark's watermark (only the two columns are read, files
  skipped by their statistics); a commit that may delete rows (an overwrite, a delete, a restore) tells
  EVERYTHING, since deleted rows leave no change stamp;
- jdbc with a `change_column`: one `SELECT DISTINCT column ... WHERE change_column > watermark`, asked
  once its change probe moved; a probe that moved with no newer row (a delete) tells EVERYTHING;
- files: the files new or changed (size, modification time) since the mark, only `column` read of
  them; a removed file tells EVERYTHING;
- a delta or jdbc source without a change column: EVERYTHING.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mesh_platform.sources import postgres
from mesh_platform.sources.model import Source

EVERYTHING = None  # changed_values' answer when the source cannot tell which rows changed
# Delta operations whose changed rows all carry a new change stamp (anything else may have deleted rows)
_STAMPED_OPERATIONS = {"WRITE", "MERGE", "UPDATE", "STREAMING UPDATE", "OPTIMIZE", "VACUUM START", "VACUUM END"}


@dataclass(frozen=True)
class ChangeMark:
    """Where the last look stopped: a Delta version, a watermark (ISO text), the files seen (name -> size@mtime)."""

    version: int | None = None
    watermark: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"version": self.version, "watermark": self.watermark, "files": self.files}

    @classmethod
    def from_json(cls, data: dict) -> ChangeMark:
        return cls(data.get("version"), data.get("watermark"), dict(data.get("files") or {}))


def _as_text(value) -> str | None:
    value = getattr(value, "as_py", lambda: value)()
    return value.isoformat() if value is not None else None


def _watermark(text: str):
    return datetime.fromisoformat(text)


# -- delta --------------------------------------------------------------------------------------------

def _delta_changes(source: Source, path: Path, column: str, since: ChangeMark | None):
    from mesh_platform.storage.delta import open_table

    table = open_table(path)
    version, stamp = table.version(), source.change_column
    if since is not None and since.version == version:
        return set(), since
    data = table.to_pyarrow_dataset()

    def everything():  # the whole change column read once: the watermark to start from
        return ChangeMark(version, _as_text(pc.max(data.to_table(columns=[stamp])[stamp])) if stamp else None)

    if since is None:
        return set(), everything()
    if stamp is None or since.version is None or since.watermark is None:
        return EVERYTHING, everything()
    for commit in table.history(max(1, version - since.version)):
        if commit.get("version", version) <= since.version:
            continue
        operation = commit.get("operation", "")
        mode = str((commit.get("operationParameters") or {}).get("mode", "Append")).strip('"')
        if operation not in _STAMPED_OPERATIONS or (operation == "WRITE" and mode != "Append"):
            return EVERYTHING, everything()
    stamp_type = data.schema.field(stamp).type
    watermark = _watermark(since.watermark)
    if pa.types.is_date(stamp_type):  # a date change column: the watermark is a day
        watermark = watermark.date()
    rows = data.to_table(columns=list(dict.fromkeys([column, stamp])),
                         filter=ds.field(stamp) > pa.scalar(watermark, type=stamp_type))
    newest = _as_text(pc.max(rows[stamp])) if rows.num_rows else since.watermark
    return set(pc.unique(rows[column]).to_pylist()), ChangeMark(version, newest)


# -- jdbc ---------------------------------------------------------------------------------------------

def _jdbc_changes(source: Source, domain: str, column: str, since: ChangeMark | None):
    from mesh_platform.sources.jdbc import _relation

    stamp = source.change_column
    if stamp is None:
        return (set() if since is None else EVERYTHING), ChangeMark()
    with postgres.connect(postgres.connection(source, domain)) as db:
        newest = postgres.rows(db, f'SELECT max(src."{stamp}")::text FROM {_relation(source)} AS src')[0][0]
        changed = set()
        if since is not None:
            found = postgres.rows(db, f'SELECT DISTINCT src."{column}" FROM {_relation(source)} AS src '
                                      f'WHERE src."{stamp}" > $1::timestamptz', (since.watermark or "-infinity",))
            # called once the change probe moved: moved with no newer row means rows were deleted
            changed = {value for (value,) in found} or EVERYTHING
        db.rollback()
    return changed, ChangeMark(watermark=newest or (since.watermark if since else None))


# -- files --------------------------------------------------------------------------------------------

def _file_column(path: Path, source: Source, column: str) -> set:
    from mesh_platform.sources.files import _text_batches

    if source.files.format == "parquet":
        return set(pc.unique(pq.read_table(path, columns=[column])[column]).to_pylist())
    values = set()
    for batch in _text_batches(path, source, [column]):
        values |= set(pc.unique(batch.column(column)).to_pylist())
    return values


def _files_changes(source: Source, lake_root: Path, column: str, since: ChangeMark | None):
    from mesh_platform.sources.files import folder, landed_files

    root = folder(source, lake_root)
    seen = {}
    for path in landed_files(source, lake_root):
        stat = path.stat()
        seen[str(path.relative_to(root))] = f"{stat.st_size}@{stat.st_mtime_ns}"
    mark = ChangeMark(files=seen)
    if since is None:
        return set(), mark
    if set(since.files) - set(seen):
        return EVERYTHING, mark
    changed = set()
    for name, stamp in seen.items():
        if since.files.get(name) != stamp:
            changed |= _file_column(root / name, source, column)
    return changed, mark


def changed_values(source: Source, domain: str, lake_root: Path, column: str,
                   since: ChangeMark | None) -> tuple[set | None, ChangeMark]:
    """The values of `column` among the rows changed since `since` (EVERYTHING: the source cannot tell),
    and the mark to pass next time; the first look (`since` None) changes nothing and sets the mark."""
    if source.kind == "delta":
        from mesh_platform.sources.delta import table_path

        return _delta_changes(source, table_path(source, domain, lake_root), column, since)
    if source.kind == "jdbc":
        return _jdbc_changes(source, domain, column, since)
    return _files_changes(source, Path(lake_root), column, since)
