"""Masking as Spark column expressions: applied in the read plan, so the Delta table keeps clear values
and no consumer query over the returned DataFrame can reach them.

`hash` is HMAC-SHA256 under a per-lake secret key, computed by Spark's own functions (no Python UDF). The
key never enters the plan as a literal: it is a one-row Parquet file under `<lake>/_platform` (0600 in a
0700 folder), joined to the rows it masks, so `df.explain()`, the Spark UI, logs and metadata show its
path, never its bytes. The file holds the key's two HMAC pads (key XOR 0x36.., key XOR 0x5c..), so
HMAC(k, v) = sha256(outer || sha256(inner || v)).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mesh_platform.storage.permissions import platform_folder

REDACTED = "[REDACTED]"
PARTIAL_KEEP = 3  # leading characters kept by partial_mask (at most half the value)
PARTIAL_TAIL = "****"  # fixed, so the mask does not reveal the value's length
KEY_FILE = "masking_key.parquet"
KEY_BYTES = 32
BLOCK = 64  # SHA-256's block size: HMAC pads the key to it
INNER, OUTER = "__mesh_hmac_inner", "__mesh_hmac_outer"  # the pads' columns while a read masks


def _pads(key: bytes) -> tuple[bytes, bytes]:
    padded = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def masking_key_file(lake_root: Path) -> Path:
    """The lake's HMAC key file, created once (by the first reader that needs it) and never rewritten."""
    path = platform_folder(lake_root) / KEY_FILE
    if path.exists():
        return path
    inner, outer = _pads(secrets.token_bytes(KEY_BYTES))
    draft = path.with_name(f"{KEY_FILE}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        pq.write_table(pa.table({INNER: [inner], OUTER: [outer]}), out)
    try:  # a link cannot overwrite: if two first readers race, both end up with the winner's key
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path


def masking_key(lake_root: Path) -> bytes:
    """The raw HMAC key (for the platform's own checks, e.g. tests recomputing a mask)."""
    inner = pq.read_table(masking_key_file(lake_root))[INNER][0].as_py()
    return bytes(b ^ 0x36 for b in inner)[:KEY_BYTES]


def keyed_hash(value: Column) -> Column:
    """HMAC-SHA256 of the string `value` (hex), from the pad columns joined in by apply_masking."""
    inner = F.unhex(F.sha2(F.concat(F.col(INNER), value.cast("binary")), 256))
    return F.sha2(F.concat(F.col(OUTER), inner), 256)


def masked(column: str, rule: str, data_type: str) -> Column:
    value = F.col(column)
    if rule == "partial_mask":
        keep = F.least(F.lit(PARTIAL_KEEP), F.floor(F.length(value) / 2)).cast("int")
        return F.concat(F.left(value, keep), F.lit(PARTIAL_TAIL))
    if rule == "hash":  # keyed, deterministic: equal values give equal hashes, so masked keys still join
        return keyed_hash(value)
    if rule == "redact":
        return F.when(value.isNotNull(), F.lit(REDACTED))
    if rule == "null":
        return F.lit(None).cast(data_type)
    raise ValueError(f"unknown masking rule {rule!r}")


def apply_masking(df: DataFrame, masking: dict[str, str], types: dict[str, str], lake_root: Path) -> DataFrame:
    """Replaces each masked column by its masked value under the same name, keeping column order."""
    if not masking:
        return df
    source = df
    if "hash" in masking.values():  # the key's pads as two columns of every row, for this select only
        pads = df.sparkSession.read.parquet(str(masking_key_file(lake_root)))
        source = df.crossJoin(F.broadcast(pads))
    return source.select(*[
        masked(c, masking[c], types[c]).alias(c) if c in masking else F.col(c) for c in df.columns
    ])
