"""Where tables live in the lake: `<root>/<domain>/bronze/<table>` and `<root>/<domain>/gold/<product>`.

dagster-deltalake places a table at `<root_uri>/<schema>/<table>`; the platform sets each asset's
`schema` metadata to `<domain>/<layer>` so that its IO manager lands tables in this layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import AssetKey

BRONZE, GOLD = "bronze", "gold"


def bronze_key(domain: str, table: str) -> AssetKey:
    from dagster import AssetKey  # here, not at the top: paths are needed by `mesh lint`, Dagster is not

    return AssetKey([domain, BRONZE, table])


def product_key(domain: str, product: str) -> AssetKey:
    from dagster import AssetKey

    return AssetKey([domain, product])


def io_schema(domain: str, layer: str) -> str:
    return f"{domain}/{layer}"


def bronze_path(root: Path, domain: str, table: str) -> Path:
    return Path(root) / domain / BRONZE / table


def product_path(root: Path, domain: str, product: str) -> Path:
    return Path(root) / domain / GOLD / product


def platform_path(root: Path, name: str) -> Path:
    """The platform's own state in the lake (read audit, access requests, masking salt)."""
    return Path(root) / "_platform" / name
