"""Masking as Spark column expressions: applied in the read plan, so the Delta table keeps clear values
and no consumer query over the returned DataFrame can reach them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mesh_platform import settings
from mesh_platform.storage.layout import platform_path

REDACTED = "[REDACTED]"
PARTIAL_KEEP = 3  # leading characters kept by partial_mask (at most half the value)
PARTIAL_TAIL = "****"  # fixed, so the mask does not reveal the value's length


def masking_salt(lake_root: Path) -> str:
    """MESH_MASKING_SALT, else a random salt created once per lake and kept out of consumers' reach."""
    configured = settings.masking_salt()
    if configured:
        return configured
    path = platform_path(lake_root, "masking_salt")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"masking_salt.{secrets.token_hex(4)}")
        draft.write_text(secrets.token_hex(16))
        draft.chmod(0o600)
        try:  # a link cannot overwrite: if two first readers race, both end up with the winner's salt
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def masked(column: str, rule: str, data_type: str, salt: str) -> Column:
    value = F.col(column)
    if rule == "partial_mask":
        keep = F.least(F.lit(PARTIAL_KEEP), F.floor(F.length(value) / 2)).cast("int")
        return F.concat(F.left(value, keep), F.lit(PARTIAL_TAIL))
    if rule == "hash":  # salted, deterministic: equal values give equal hashes, so masked keys still join
        return F.sha2(F.concat(F.lit(salt), value), 256)
    if rule == "redact":
        return F.when(value.isNotNull(), F.lit(REDACTED))
    if rule == "null":
        return F.lit(None).cast(data_type)
    raise ValueError(f"unknown masking rule {rule!r}")


def apply_masking(df: DataFrame, masking: dict[str, str], types: dict[str, str], salt: str) -> DataFrame:
    """Replaces each masked column by its masked value under the same name, keeping column order."""
    if not masking:
        return df
    return df.select(*[
        masked(c, masking[c], types[c], salt).alias(c) if c in masking else F.col(c) for c in df.columns
    ])
