"""Delta tables in the lake: layout, reads and atomic commits through delta-rs, permissions, vacuum."""

from mesh_platform.storage.delta import Commit, TableMissing, read_delta, write_arrow, write_delta
from mesh_platform.storage.layout import bronze_key, bronze_path, product_key, product_path

__all__ = [
    "Commit",
    "TableMissing",
    "bronze_key",
    "bronze_path",
    "product_key",
    "product_path",
    "read_delta",
    "write_arrow",
    "write_delta",
]
