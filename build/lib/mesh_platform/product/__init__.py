from mesh_platform.product.build import BuildContext, Transform
from mesh_platform.product.domain import domain_definitions
from mesh_platform.product.factory import product_asset
from mesh_platform.product.run import ProductRun

__all__ = ["BuildContext", "ProductRun", "Transform", "domain_definitions", "product_asset"]
