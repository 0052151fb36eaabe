"""Access to products: who may read them, masking and row filters in the read path, and the read audit.

For notebooks and ad-hoc PySpark: `from mesh_platform.access import read_product`.
"""

from mesh_platform.access.policy import AccessDenied, ReadPolicy, read_policy

__all__ = ["AccessDenied", "ReadPolicy", "read_policy", "read_product"]


def __getattr__(name: str):
    # The reader imports storage, which imports this package: load it on first use.
    if name == "read_product":
        from mesh_platform.access.reader import read_product

        return read_product
    raise AttributeError(name)
