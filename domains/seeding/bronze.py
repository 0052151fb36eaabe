"""`mesh seed`: write every domain's bronze tables into the lake, idempotently.

A domain provides `seed.py` with `bronze_tables(tpch) -> {table: pyarrow.Table}`. Each table
is written as one Delta commit stamped with the scale and seed version; a table already stamped with
the same ones is left alone, so running the seed twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domains.seeding.tpch import TpchTables, generate
from mesh_platform.mesh import domain_module, domain_names
from mesh_platform.storage.delta import TableMissing, open_table, write_arrow
from mesh_platform.storage.layout import bronze_path
from mesh_platform.storage.permissions import private_folder

SEED_VERSION = "2"  # bump when a domain's bronze derivation changes, to refresh existing lakes


@dataclass(frozen=True)
class SeedResult:
    domain: str
    table: str
    rows: int
    version: int | None  # None: not a Delta table
    written: bool
    target: str = "lake"

    @property
    def name(self) -> str:  # what `mesh seed` prints
        return f"{self.domain}/bronze/{self.table}" if self.target == "lake" else f"{self.domain}.{self.table} ({self.target})"

    @property
    def action(self) -> str:
        return ("written" if self.target == "lake" else "loaded") if self.written else "up to date"


def _stamp(scale: float) -> dict[str, str]:
    return {"mesh.seed.scale": f"{scale:g}", "mesh.seed.version": SEED_VERSION}


def _current_version(path: Path, scale: float) -> int | None:
    """The table's version if its latest commit is stamped with this scale and seed version."""
    try:
        table = open_table(path)
    except TableMissing:
        return None
    last = table.history(1)[0]
    return table.version() if all(last.get(k) == v for k, v in _stamp(scale).items()) else None


def seed(
    lake_root: Path,
    scale: float,
    *,
    force: bool = False,
    domains: set[str] | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> list[SeedResult]:
    on_step(f"TPC-H SF {scale:g}")
    raw = private_folder(Path(lake_root) / "_tpch")  # every domain's raw data: names, phones, addresses
    tpch = TpchTables(generate(scale, raw / f"sf{scale:g}"))
    results = []
    for domain in domain_names():
        if domains is not None and domain not in domains:
            continue
        sources = domain_module(domain, "seed")
        if sources is None:
            continue
        for name, data in sources.bronze_tables(tpch).items():
            on_step(f"{domain}/bronze/{name}")
            path = bronze_path(lake_root, domain, name)
            current = None if force else _current_version(path, scale)
            if current is not None:
                results.append(SeedResult(domain, name, data.num_rows, current, False))
                continue
            commit = write_arrow(data, path, _stamp(scale))
            results.append(SeedResult(domain, name, commit.row_count, commit.version, True))
    return results
