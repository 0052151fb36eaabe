"""Access to products: who may read them, masking and row filters in the read path, and the read audit.

For notebooks and ad-hoc PySpark: `from mesh_platform.access import read_product`.
"""

from mesh_platform.access.policy import AccessDenied, ReadPolicy, read_policy
from mesh_platform.access.reader import DeprecatedProductWarning, read_product

__all__ = ["AccessDenied", "DeprecatedProductWarning", "ReadPolicy", "read_policy", "read_product"]
