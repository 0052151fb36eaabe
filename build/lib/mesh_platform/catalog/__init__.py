"""The catalog: every product with its contract facts, freshness, last checks, usage and lineage."""

from mesh_platform.catalog.entries import CatalogEntry, catalog_entries, search

__all__ = ["CatalogEntry", "catalog_entries", "search"]
