"""The read audit: one row per read through the platform, in a Delta table of the lake.

Appends are single delta-rs commits, so concurrent readers (several run workers, notebooks) never
lose each other's records. Usage per product is folded from this log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from mesh_platform.storage.delta import TableMissing, open_table
from mesh_platform.storage.layout import platform_path
from mesh_platform.storage.permissions import close_new_versions, prepare_table

COMPACT_EVERY = 200  # commits; one small file per read would otherwise slow every usage query

SCHEMA = pa.schema([
    ("product", pa.string()),
    ("version", pa.int64()),
    ("consumer", pa.string()),
    ("read_at", pa.timestamp("us", tz="UTC")),
    ("columns", pa.list_(pa.string())),
    ("rows", pa.int64()),
    ("masked", pa.list_(pa.string())),
    ("row_filter", pa.string()),
    ("via", pa.string()),  # dagster | io_manager | api | cli
    ("run_id", pa.string()),
    ("read_by", pa.string()),  # the consuming asset, for reads in Dagster runs
    ("deprecation", pa.string()),  # the notice given when the major read was deprecated
])


@dataclass(frozen=True)
class ReadEvent:
    product: str
    version: int
    consumer: str
    read_at: datetime
    columns: list[str]
    rows: int
    masked: list[str] = field(default_factory=list)
    row_filter: str | None = None
    via: str = "api"
    run_id: str | None = None
    read_by: str | None = None
    deprecation: str | None = None


@dataclass(frozen=True)
class Usage:
    product: str
    read_count: int
    consumers: list[str]
    last_read_at: datetime
    last_consumer: str
    last_version: int
    deprecated_reads: int = 0
    deprecation: str | None = None  # the latest notice, while consumers still read a deprecated major
    deprecated_readers: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        """As Dagster metadata of an observation on the product's asset."""
        return {
            "usage/read_count": self.read_count,
            "usage/distinct_consumers": len(self.consumers),
            "usage/consumers": ", ".join(self.consumers),
            "usage/last_read_at": self.last_read_at.isoformat(timespec="seconds"),
            "usage/last_consumer": self.last_consumer,
            "usage/last_version_read": self.last_version,
            "usage/deprecated_reads": self.deprecated_reads,
        }


def audit_path(lake_root: Path) -> Path:
    return platform_path(lake_root, "read_audit")


def record(lake_root: Path, event: ReadEvent) -> None:
    path = audit_path(lake_root)
    access = prepare_table(path)  # 0700 under <lake>/_platform: no other user reads or forges the audit
    write_deltalake(
        str(path), pa.Table.from_pylist([asdict(event)], schema=SCHEMA), mode="append", schema_mode="merge"
    )
    table = DeltaTable(str(path))
    if table.version() % COMPACT_EVERY == 0:
        table.optimize.compact()
        table.update_incremental()
    close_new_versions(path, access, table.version())


def reads(lake_root: Path, product: str | None = None) -> list[ReadEvent]:
    """Recorded reads, oldest first (of one product if given)."""
    try:
        table = open_table(audit_path(lake_root))
    except TableMissing:
        return []
    rows = table.to_pyarrow_table(filters=[("product", "=", product)] if product else None).to_pylist()
    return sorted((ReadEvent(**row) for row in rows), key=lambda e: e.read_at)


def usage(events: Iterable[ReadEvent]) -> dict[str, Usage]:
    by_product: dict[str, list[ReadEvent]] = {}
    for event in events:
        by_product.setdefault(event.product, []).append(event)
    summary = {}
    for product, items in sorted(by_product.items()):
        last = max(items, key=lambda e: e.read_at)
        deprecated = [e for e in items if e.deprecation]
        summary[product] = Usage(
            product=product,
            read_count=len(items),
            consumers=sorted({e.consumer for e in items}),
            last_read_at=last.read_at,
            last_consumer=last.consumer,
            last_version=last.version,
            deprecated_reads=len(deprecated),
            deprecation=last.deprecation,
            deprecated_readers=sorted({e.read_by or e.consumer for e in deprecated}),
        )
    return summary
