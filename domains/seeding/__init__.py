"""The sample mesh's sources: TPC-H (tpchgen-cli) into each domain's bronze tables, and into PostgreSQL.

mesh.yaml names `seed` below as this mesh's `mesh seed`; a mesh over real sources needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from domains.seeding.bronze import SeedResult


def seed(
    lake_root: Path,
    *,
    scale: float = 0.1,
    target: str = "lake",
    force: bool = False,
    domains: set[str] | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> list[SeedResult]:
    """Every domain's bronze tables at TPC-H scale `scale` (idempotent); target `postgres` also loads the jdbc
    tables of sources.postgres.yaml into the PostgreSQL its environment variables name."""
    if target not in ("lake", "postgres"):
        raise ValueError(f"--target {target!r}: expected lake or postgres")
    from domains.seeding.bronze import seed as seed_lake

    results = seed_lake(lake_root, scale, force=force, domains=domains, on_step=on_step)
    if target == "postgres":
        from domains.seeding.postgres import seed_postgres

        results += seed_postgres(lake_root, scale, "postgres", force=force, domains=domains, on_step=on_step)
    return results
