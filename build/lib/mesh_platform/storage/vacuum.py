"""Removing what no Delta commit references: killed writers' staging folders and expired files.

Two kinds of garbage build up in a table folder:

- **Staging folders no commit references** (`spark-<uuid>/`, see spark_write.py): a writer killed
  between Spark's write and delta-rs's commit leaves them behind. delta-rs's vacuum only removes such
  untracked files in its `full` mode, and then file by file by modification time, which could take
  the older files out of a long write still in progress. So the platform removes them itself, a whole
  folder at a time, and only when no file in it is referenced by any version still in the log and its
  newest entry is older than the retention: a write in progress keeps touching its folder.
- **Files removed from the log** (an overwrite's previous files): delta-rs's `DeltaTable.vacuum`,
  told to keep every version still in the log, because consumers pin and time-travel to earlier
  versions (`mesh read --version`, `use_last_good`). It then removes only files that no loadable
  version references any more, once the log's own cleanup has expired their versions.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq
from deltalake import DeltaTable

from mesh_platform import settings
from mesh_platform.storage.layout import product_path
from mesh_platform.storage.spark_write import STAGING_PREFIX

DEFAULT_RETENTION_HOURS = settings.VACUUM_RETENTION_HOURS
LOG = "_delta_log"


@dataclass
class VacuumReport:
    table: str
    removed: list[str] = field(default_factory=list)  # paths relative to the table folder
    removed_bytes: int = 0
    kept_recent: list[str] = field(default_factory=list)  # unreferenced staging folders inside the retention
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"table": self.table, "removed_files": len(self.removed), "removed_bytes": self.removed_bytes,
                "kept_recent_staging": self.kept_recent, "dry_run": self.dry_run, "removed": self.removed}


def _log_versions(log: Path) -> tuple[list[int], list[Path]]:
    commits = sorted(int(p.name.split(".")[0]) for p in log.glob("*.json") if p.name.split(".")[0].isdigit())
    return commits, sorted(log.glob("*.checkpoint*.parquet"))


def referenced_files(table_root: Path) -> set[str]:
    """Every data file any version still in the log references (a superset: all adds ever logged)."""
    log = table_root / LOG
    commits, checkpoints = _log_versions(log)
    paths: set[str] = set()
    for version in commits:
        for line in (log / f"{version:020d}.json").read_text().splitlines():
            if line.strip() and '"add"' in line:
                add = json.loads(line).get("add")
                if add:
                    paths.add(unquote(add["path"]))
    for checkpoint in checkpoints:  # the state of versions whose commit files the log cleanup removed
        adds = pq.read_table(checkpoint, columns=["add"]).column("add").to_pylist()
        paths.update(unquote(a["path"]) for a in adds if a)
    return paths


def loadable_versions(table_root: Path) -> list[int]:
    """Versions a reader can still open: every one from version 0, or from the oldest checkpoint."""
    commits, checkpoints = _log_versions(table_root / LOG)
    if not commits:
        return []
    oldest = 0 if commits[0] == 0 else min((int(c.name.split(".")[0]) for c in checkpoints), default=commits[-1])
    return list(range(oldest, commits[-1] + 1))


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for entry in folder.rglob("*"):
        try:
            newest = max(newest, entry.stat().st_mtime)
        except FileNotFoundError:  # a writer's task renamed it meanwhile
            continue
    return newest


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def remove_stale_staging(uri: str | Path, retention_hours: float = DEFAULT_RETENTION_HOURS,
                         dry_run: bool = False, report: VacuumReport | None = None) -> VacuumReport:
    """Removes staging folders that no version references and nothing touched within the retention."""
    table_root = Path(uri)
    report = report or VacuumReport(str(table_root), dry_run=dry_run)
    cutoff = time.time() - retention_hours * 3600
    folders = sorted(p for p in table_root.glob(f"{STAGING_PREFIX}*") if p.is_dir())
    if not folders or not (table_root / LOG).is_dir():
        return report
    referenced_folders = {path.split("/")[0] for path in referenced_files(table_root)}
    for folder in folders:
        if folder.name in referenced_folders:
            continue
        if _newest_mtime(folder) >= cutoff:  # possibly a write still in progress
            report.kept_recent.append(folder.name)
            continue
        files = _files(folder)
        report.removed += [str(f.relative_to(table_root)) for f in files]
        report.removed_bytes += sum(f.stat().st_size for f in files)
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
    return report


def vacuum_table(uri: str | Path, retention_hours: float = DEFAULT_RETENTION_HOURS,
                 dry_run: bool = False) -> VacuumReport:
    """Staging garbage, then delta-rs's vacuum of files no version still in the log references."""
    table_root = Path(uri)
    report = remove_stale_staging(table_root, retention_hours, dry_run)
    table = DeltaTable(str(table_root))
    keep = loadable_versions(table_root)
    hours = math.ceil(retention_hours)  # delta-rs takes whole hours: round towards keeping
    expired = table.vacuum(retention_hours=hours, dry_run=True, enforce_retention_duration=False,
                           keep_versions=keep)
    if expired:
        sizes = [(table_root / unquote(p)).stat().st_size for p in expired if (table_root / unquote(p)).exists()]
        if not dry_run:
            expired = table.vacuum(retention_hours=hours, dry_run=False,
                                   enforce_retention_duration=False, keep_versions=keep)
        report.removed += [unquote(p) for p in expired]
        report.removed_bytes += sum(sizes)
    return report


def vacuum_tables(tables: dict[str, Path], retention_hours: float = DEFAULT_RETENTION_HOURS,
                  dry_run: bool = False) -> list[VacuumReport]:
    """`vacuum_table` over `{name: table folder}`, skipping tables never published; reports named by key."""
    reports = []
    for name, root in tables.items():
        if (Path(root) / LOG).is_dir():
            report = vacuum_table(root, retention_hours, dry_run)
            report.table = name
            reports.append(report)
    return reports


def product_tables(lake_root: Path, contracts: dict) -> dict[str, Path]:
    """Each contract's table folder, by product key (`{key: Contract}` in, as `mesh.all_contracts()`)."""
    return {key: product_path(lake_root, c.domain, c.asset_name) for key, c in sorted(contracts.items())}
