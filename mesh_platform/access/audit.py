"""The read audit: one entry per read (and per denied read) through the platform, in a Delta table of
the lake, hash-chained (audit_chain.py: the order over concurrent appenders, verification, compaction).

`record_all` appends a batch of entries as one delta-rs commit (a run's reads, batched); `record` is a
batch of one. Usage per product is folded from this log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder, write_deltalake

from mesh_platform.access import audit_chain as chain
from mesh_platform.access.audit_chain import AuditUnreadable
from mesh_platform.storage.delta import TableMissing, open_table
from mesh_platform.storage.layout import platform_path
from mesh_platform.storage.permissions import close_new_versions, prepare_table

READ, DENIED = "read", "denied"

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
    ("credential", pa.string()),  # id of the verified credential (never its secret); null: unverified or a build
    ("outcome", pa.string()),  # read | denied
    ("reason", pa.string()),  # why a read was denied
    ("seq", pa.int64()),  # the hash chain (audit_chain.py)
    ("prev_hash", pa.string()),
    ("entry_hash", pa.string()),
])
EVENT_COLUMNS = [name for name in SCHEMA.names if name not in chain.CHAIN_COLUMNS]


@dataclass(frozen=True)
class ReadEvent:
    product: str
    version: int | None  # None for a denied read
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
    credential: str | None = None
    outcome: str = READ
    reason: str | None = None


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
    record_all(lake_root, [event])


def record_all(lake_root: Path, events: Sequence[ReadEvent]) -> None:
    """Appends `events`, chained in order, as one commit; AuditUnreadable if the audit cannot take them."""
    path = audit_path(lake_root)
    try:
        with chain.writer_lock(lake_root):
            _append(lake_root, events)
    except AuditUnreadable:
        raise
    except Exception as exc:  # delta-rs, Arrow and JSON errors alike: the audit could not take the entry
        raise chain.unreadable(path, exc) from exc


def _append(lake_root: Path, events: Sequence[ReadEvent]) -> None:
    """One commit of `events` after the chain's end; the caller holds the writer lock."""
    path = audit_path(lake_root)
    access = prepare_table(path)  # 0700 under <lake>/_platform: no other user reads or forges the audit
    table = _open(path)
    rows, end = chain.link(chain.current_head(lake_root, table), [asdict(e) for e in events])
    data = pa.Table.from_pylist(rows, schema=SCHEMA)
    if table is None:
        write_deltalake(str(path), data, mode="append")
        table = DeltaTable(str(path))
    else:
        write_deltalake(table, data, mode="append", schema_mode="merge")
    close_new_versions(path, access, table.version())
    chain.write_head(lake_root, chain.Head(end.seq, end.hash, table.version()))


def _open(path: Path) -> DeltaTable | None:
    try:
        return open_table(path)
    except TableMissing:
        return None


def entries(lake_root: Path, product: str | None = None) -> list[dict]:
    """The stored rows (chain columns included), in no particular order; AuditUnreadable if they cannot be read."""
    path = audit_path(lake_root)
    try:
        table = _open(path)
        if table is None:
            return []
        data = _of_product(table, product) if product else table.to_pyarrow_table()
    except Exception as exc:
        raise chain.unreadable(path, exc) from exc
    return [{name: row.get(name) for name in SCHEMA.names} for row in data.to_pylist()]  # older rows: None


def _of_product(table: DeltaTable, product: str) -> pa.Table:
    """`product`'s rows, through delta-rs's query engine: it skips every file whose statistics exclude the
    product, where a filtered scan opens every file (each read recorded is one: 0.6 s at 1,000 files,
    against 0.03 s, and a read of a product reads its usage first: record_read)."""
    quoted = product.replace("'", "''")
    return pa.table(QueryBuilder().register("audit", table).execute(f"SELECT * FROM audit WHERE product = '{quoted}'")
                    .read_all())


def reads(lake_root: Path, product: str | None = None, outcome: str = READ) -> list[ReadEvent]:
    """Recorded reads (or denials, with outcome=DENIED), oldest first (of one product if given)."""
    chosen = [r for r in entries(lake_root, product) if (r["outcome"] or READ) == outcome]
    return sorted((ReadEvent(**{k: r[k] for k in EVENT_COLUMNS}) for r in chosen), key=lambda e: e.read_at)


@dataclass(frozen=True)
class Verification:
    entries: int
    problems: list[str]


def verify(lake_root: Path) -> Verification:
    """The whole chain, the head and every commit checked (audit_chain.py says what each check catches)."""
    path = audit_path(lake_root)
    head = chain.read_head(lake_root)
    try:
        table = _open(path)
    except Exception as exc:
        return Verification(0, [str(chain.unreadable(path, exc))])
    if table is None:
        missing = head is not None and head.seq >= 0
        return Verification(0, [f"the read audit at {path} is gone but its head records {head.seq + 1} entries: "
                                "deleted"] if missing else [])
    try:
        rows = entries(lake_root)
        history = chain.history_problems(table)
    except Exception as exc:
        return Verification(0, [str(chain.unreadable(path, exc))])
    return Verification(len(rows), chain.chain_problems(rows, head) + history)


def compact(lake_root: Path) -> int:
    """Rewrites the audit's small files into few (the platform's job, never a reader's); returns files removed.

    Under the appenders' lock: no append can land between the files read and the files written, so no
    row is lost or duplicated, and rows keep their hashes, so the chain still verifies.
    """
    path = audit_path(lake_root)
    try:
        with chain.writer_lock(lake_root):
            table = _open(path)
            if table is None:
                return 0
            head = chain.current_head(lake_root, table)
            access = prepare_table(path)
            removed = int(table.optimize.compact().get("numFilesRemoved", 0))
            close_new_versions(path, access, table.version())
            if removed:
                chain.write_head(lake_root, chain.Head(head.seq, head.hash, table.version()))
            return removed
    except AuditUnreadable:
        raise
    except Exception as exc:
        raise chain.unreadable(path, exc) from exc


def chain_legacy(lake_root: Path) -> int:
    """Chains, once, the entries an older platform wrote before the chain; returns how many it chained.

    Refused when the chained entries do not verify, or when an unchained entry is newer than the first
    chained one (that is a forgery, not history). The table is rebuilt as one commit of every entry
    (the older ones by time, then the chained ones in order); the old table stays beside it, renamed.
    """
    path = audit_path(lake_root)
    with chain.writer_lock(lake_root):
        rows = entries(lake_root)
        legacy = sorted((r for r in rows if r["seq"] is None), key=lambda r: r["read_at"])
        chained = sorted((r for r in rows if r["seq"] is not None), key=lambda r: r["seq"])
        if not legacy:
            return 0
        problems = chain.chain_problems(chained, chain.read_head(lake_root))
        if problems:
            raise ValueError(f"{path}: the chained entries do not verify ({problems[0]}); not re-chaining over that")
        if chained and legacy[-1]["read_at"] > min(r["read_at"] for r in chained):
            raise ValueError(f"{path}: an unchained entry ({legacy[-1]['product']} read by "
                             f"{legacy[-1]['consumer']}) is newer than the chain: forged, not left from before it")
        path.rename(path.with_name(f"read_audit.pre-chain-{datetime.now().strftime('%Y%m%dT%H%M%S')}"))
        chain.head_path(lake_root).unlink(missing_ok=True)
        _append(lake_root, [ReadEvent(**{k: r[k] for k in EVENT_COLUMNS}) for r in legacy + chained])
    return len(legacy)


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
