"""Access to products: who may read them, masking and row filters in the read path, and the read audit.

For notebooks and ad-hoc PySpark: `from mesh_platform.access import read_product`.
"""

from importlib import import_module

# Resolved on first use (PEP 562): `mesh lint` needs the policy model, not Dagster and Spark behind the reader.
_HOMES = {
    "AccessDenied": "mesh_platform.access.policy",
    "ReadPolicy": "mesh_platform.access.policy",
    "read_policy": "mesh_platform.access.policy",
    "DeprecatedProductWarning": "mesh_platform.access.reader",
    "IdentityError": "mesh_platform.access.identity",
    "read_product": "mesh_platform.access.reader",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
