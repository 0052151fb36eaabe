"""The platform resource layer every domain code location binds, once."""

from __future__ import annotations

from typing import Any

from mesh_platform.product.io_manager import MeshDeltaIOManager
from mesh_platform.product.run import ProductRun
from mesh_platform.spark import SparkResource


def platform_resources(domain: str) -> dict[str, Any]:
    """The resources of `domain`'s code location: they read and publish as `domain` only."""
    spark = SparkResource.from_env()
    return {
        "spark": spark,
        "io_manager": MeshDeltaIOManager.bound_to(domain).from_env(spark),
        "mesh": ProductRun.bound_to(domain).from_env(),
    }
