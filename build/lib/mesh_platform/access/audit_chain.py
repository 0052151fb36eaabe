"""The read audit's hash chain: one order over every appender, tamper evidence, verification, compaction.

Order. Several processes append at once (run workers, notebooks, `mesh read`), so the chain needs one
order. The lake is a local file system (settings.lake_root() is a path), so the order is taken by an
exclusive `fcntl.flock` on `<lake>/_platform/read_audit.lock` around "read the last entry, append, move
the head": an appender holds it for one delta-rs commit (milliseconds), a crashed holder releases it with
its process. Chaining by Delta commit order without a lock would fork: delta-rs lets blind appends commit
concurrently, so two appenders would both link to the same predecessor.

Entries. Each entry carries `seq` (its position, 0, 1, 2, ...), `prev_hash` (the previous entry's
`entry_hash`, GENESIS for the first) and `entry_hash` (SHA-256 of its own content, seq and prev_hash
included). A batch of entries (one run's reads, later) is chained in order and committed as one append.

Head. After each commit the holder writes `<lake>/_platform/read_audit.head.json` (the last seq, its hash
and the Delta version), outside the table, so a log cut short (the last entries deleted, or the table
overwritten with fewer or no rows) is evident too; it also spares the appender a scan of the table.

Evidence. `verify` reports a modified entry (its hash no longer matches), a deleted or reordered one (a gap
in seq, or a prev_hash that is not its predecessor's), a forged one written around the platform (no valid
hash or link), a duplicate (the same seq twice), a log shorter than its head, and any commit that is not
an append or a compaction (delete, overwrite, update, merge). Anyone who can write the lake can still
recompute a whole chain and its head; the chain makes tampering evident, it does not make it impossible.

Compaction is the platform's (`mesh audit compact`, the governance location's schedule), under the same
lock, so no append lands while the files are rewritten and no row can be duplicated; rows keep their
hashes, so the chain survives it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deltalake import DeltaTable

from mesh_platform.storage.layout import platform_path
from mesh_platform.storage.permissions import exclusive_lock, platform_folder, replace_private

GENESIS = "0" * 64
CHAIN_COLUMNS = ("seq", "prev_hash", "entry_hash")
ALLOWED_OPERATIONS = {"CREATE TABLE", "OPTIMIZE"}  # plus WRITE in Append mode


class AuditUnreadable(RuntimeError):
    """The read audit cannot be read or appended: reads across domains are refused until it is repaired."""


def unreadable(path: Path, error: BaseException) -> AuditUnreadable:
    """One line: what is damaged (the file, when it can be found), that reads are refused, how to repair."""
    lines = str(error).strip().splitlines()  # delta-rs appends a stack trace after its first line
    cause = locate_damage(path) or (lines[0][:300] if lines else type(error).__name__)
    return AuditUnreadable(
        f"the read audit at {path} is unreadable ({cause}); reads are refused until it is repaired: "
        f"restore the damaged file from a backup (or move a damaged last commit out of _delta_log), then "
        "`mesh usage --verify`"
    )


def locate_damage(path: Path) -> str | None:
    """The first commit file or data file of the audit that does not parse, as one line; None if none."""
    import pyarrow.parquet as pq

    for commit in sorted((path / "_delta_log").glob("*.json")):
        try:
            for line in commit.read_text().splitlines():
                if line.strip():
                    json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"Delta commit {int(commit.stem)} ({commit}) does not parse: {exc}"
    try:
        uris = DeltaTable(str(path)).file_uris()
    except Exception:  # noqa: BLE001 - the log itself is the damage; the caller names it
        return None
    for uri in uris:
        try:
            pq.read_metadata(uri.removeprefix("file://"))
        except Exception as exc:  # noqa: BLE001 - any reason a file does not parse
            return f"data file {uri} does not parse: {exc}"
    return None


@dataclass(frozen=True)
class Head:
    seq: int  # the last entry's position; -1 for an empty log
    hash: str
    version: int  # the Delta version that holds it


EMPTY = Head(-1, GENESIS, -1)


def lock_path(lake_root: Path) -> Path:
    return platform_path(lake_root, "read_audit.lock")


def head_path(lake_root: Path) -> Path:
    return platform_path(lake_root, "read_audit.head.json")


@contextmanager
def writer_lock(lake_root: Path) -> Iterator[None]:
    """The one appender (or compactor) of the lake's audit at a time, across processes."""
    path = lock_path(lake_root)
    platform_folder(lake_root)
    with exclusive_lock(path):
        yield


def read_head(lake_root: Path) -> Head | None:
    path = head_path(lake_root)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Head(int(data["seq"]), str(data["hash"]), int(data["version"]))


def write_head(lake_root: Path, head: Head) -> None:
    # not flushed to disk on every read: a head behind the table is caught up from its last entry
    replace_private(head_path(lake_root), json.dumps({"seq": head.seq, "hash": head.hash, "version": head.version}),
                    durable=False)


def last_entry(table: DeltaTable | None) -> Head:
    """The chain's end as stored in the table (when the head file is missing or behind the table)."""
    if table is None or "seq" not in table.schema().to_arrow().names:
        return EMPTY if table is None else Head(-1, GENESIS, table.version())
    rows = [r for r in table.to_pyarrow_table(columns=["seq", "entry_hash"]).to_pylist() if r["seq"] is not None]
    if not rows:
        return Head(-1, GENESIS, table.version())
    last = max(rows, key=lambda r: r["seq"])
    return Head(last["seq"], last["entry_hash"] or GENESIS, table.version())


def current_head(lake_root: Path, table: DeltaTable | None) -> Head:
    head = read_head(lake_root)
    if table is None:
        if head is not None and head.seq >= 0:
            raise AuditUnreadable(
                f"the read audit at {platform_path(lake_root, 'read_audit')} is gone but its head records "
                f"{head.seq + 1} entries: it was deleted; restore it from a backup (reads are refused until then)"
            )
        return EMPTY
    if head is not None and head.version == table.version():
        return head
    return last_entry(table)  # a crash between commit and head, or a write around the platform


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def content_hash(row: dict) -> str:
    """SHA-256 of an entry's content (seq and prev_hash included, entry_hash and nulls left out, so a
    column added to the audit later does not change the hashes of older entries)."""
    content = {k: _canonical(v) for k, v in row.items() if k != "entry_hash" and v is not None}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def link(head: Head, rows: list[dict]) -> tuple[list[dict], Head]:
    """`rows` chained after `head`, in order; and the new end of the chain (its version still unknown)."""
    chained, seq, previous = [], head.seq, head.hash
    for row in rows:
        seq += 1
        entry = {**row, "seq": seq, "prev_hash": previous}
        entry["entry_hash"] = previous = content_hash(entry)
        chained.append(entry)
    return chained, Head(seq, previous, -1)


def _describe(row: dict) -> str:
    at = row.get("read_at")
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(at, datetime) else "unknown time"
    what = "denied to" if row.get("outcome") == "denied" else "read by"
    return f"{row.get('product')} {what} {row.get('consumer')} at {when}"


def chain_problems(rows: list[dict], head: Head | None) -> list[str]:
    """Every break of the chain, first break first, each one line naming the entry."""
    unplaced = [r for r in rows if r.get("seq") is None]
    problems = [f"an entry without a chain position ({_describe(r)}): forged or written around the platform"
                + ("" if r.get("outcome") else " (or by a platform older than the chain: `mesh audit chain-legacy` "
                   "chains those once)") for r in unplaced]
    expected, previous = 0, GENESIS
    for row in sorted((r for r in rows if r.get("seq") is not None), key=lambda r: r["seq"]):
        seq = row["seq"]
        if seq < expected:
            problems.append(f"entry {seq} ({_describe(row)}) appears more than once: duplicated by a compaction or "
                            "copied in")
            continue
        if seq > expected:
            missing = f"entry {expected}" if seq == expected + 1 else f"entries {expected} to {seq - 1}"
            problems.append(f"{missing} missing before entry {seq} ({_describe(row)}): deleted")
        elif row.get("prev_hash") != previous:
            problems.append(f"entry {seq} ({_describe(row)}) does not link to entry {seq - 1}: deleted, reordered "
                            "or forged around the platform")
        if row.get("entry_hash") != content_hash({k: v for k, v in row.items() if k != "entry_hash"}):
            problems.append(f"entry {seq} ({_describe(row)}) does not match its hash: modified or forged after it "
                            "was recorded")
        expected, previous = seq + 1, row.get("entry_hash")
    if head is not None and head.seq >= expected:
        missing = f"entry {expected}" if head.seq == expected else f"entries {expected} to {head.seq}"
        problems.append(f"{missing} missing at the end (the head records {head.seq + 1} "
                        f"entries, the log holds {expected}): deleted or overwritten")
    elif head is not None and head.seq >= 0:
        at_head = [r for r in rows if r.get("seq") == head.seq]
        if at_head and at_head[0].get("entry_hash") != head.hash:
            problems.append(f"entry {head.seq} ({_describe(at_head[0])}) is not the entry the head recorded: "
                            "the log was rewritten")
    return problems


def history_problems(table: DeltaTable) -> list[str]:
    """Commits that are neither an append nor a compaction: the audit is append-only."""
    problems = []
    for commit in sorted(table.history(), key=lambda c: c.get("version", 0)):
        operation = commit.get("operation", "unknown")
        mode = (commit.get("operationParameters") or {}).get("mode")
        if operation in ALLOWED_OPERATIONS or (operation == "WRITE" and mode == "Append"):
            continue
        kind = f"{operation} ({mode})" if mode else operation
        problems.append(f"Delta commit {commit.get('version')} of the read audit is a {kind}: the audit is "
                        "append-only (only appends and compactions)")
    return problems
