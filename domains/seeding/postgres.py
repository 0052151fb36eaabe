"""`mesh seed --target postgres`: load a sources profile's jdbc tables into the PostgreSQL they name.

For each domain whose `sources.<profile>.yaml` declares jdbc sources over a table, the domain's sample
generator (`seed.py`) provides the data, and each table is (re)created with its declared columns, typed
as declared, plus what an operational table keeps for change probes: `updated_at` (set on insert, and on
every update by a trigger). The connection comes from the environment variables the declaration names.
A table whose comment carries this scale and seed version is left alone, so seeding twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from domains.seeding.bronze import SEED_VERSION, SeedResult
from domains.seeding.tpch import TpchTables, generate
from mesh_platform.contracts.types import DECIMAL
from mesh_platform.mesh import domain_module, domain_names, domains_dir
from mesh_platform.sources import postgres
from mesh_platform.sources.loader import load_domain_sources
from mesh_platform.sources.model import Source
from mesh_platform.storage.permissions import private_folder

_PG_TYPES = {"bigint": "bigint", "int": "integer", "string": "text", "double": "double precision",
             "boolean": "boolean", "date": "date", "timestamp": "timestamptz"}
CHANGE_COLUMN = "updated_at"


def _pg_type(contract_type: str) -> str:
    if match := DECIMAL.match(contract_type):
        return f"numeric({match[1]},{match[2]})"
    return _PG_TYPES[contract_type]


def _stamp(scale: float) -> str:
    return f"mesh seed: scale={scale:g} version={SEED_VERSION}"


def load_table(db, source: Source, data: pa.Table, stamp: str, force: bool = False) -> bool:
    """Create `source`'s table from `data` (its declared columns); False if already loaded with `stamp`."""
    table = source.jdbc.table
    current = postgres.rows(db, "SELECT obj_description(to_regclass($1), 'pg_class')", (table,))[0][0]
    if current == stamp and not force:
        return False
    columns = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in source.columns.items() if c != CHANGE_COLUMN)
    trigger = f"{table.replace('.', '_')}_touch"
    for statement in (
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE TABLE {table} ({columns}, {CHANGE_COLUMN} timestamptz NOT NULL DEFAULT now())",
        "CREATE OR REPLACE FUNCTION mesh_touch() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN NEW.{CHANGE_COLUMN} := now(); RETURN NEW; END $$",
        f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION mesh_touch()",
    ):
        postgres.rows(db, statement)
    declared = [c for c in source.columns if c != CHANGE_COLUMN]
    with db.cursor() as cursor:
        cursor.adbc_ingest(table, data.select(declared), mode="append")
    postgres.rows(db, f"ANALYZE {table}")  # row-count estimates (pg_class.reltuples) for observations
    postgres.rows(db, f"COMMENT ON TABLE {table} IS '{stamp}'")
    db.commit()
    return True


def seed_postgres(
    lake_root: Path,
    scale: float,
    profile: str = "postgres",
    *,
    force: bool = False,
    domains: set[str] | None = None,
    on_step: Callable[[str], None] = lambda _: None,
) -> list[SeedResult]:
    on_step(f"TPC-H SF {scale:g}")
    tpch = TpchTables(generate(scale, private_folder(Path(lake_root) / "_tpch") / f"sf{scale:g}"))
    results = []
    for domain in domain_names():
        if domains is not None and domain not in domains:
            continue
        jdbc = {n: s for n, s in load_domain_sources(domains_dir() / domain, profile).items()
                if s.kind == "jdbc" and s.jdbc.table}
        generator = domain_module(domain, "seed")
        if not jdbc or generator is None:
            continue
        data = generator.bronze_tables(tpch)
        for name, source in jdbc.items():
            conn = postgres.connection(source, domain)
            on_step(f"{domain}.{name} -> PostgreSQL {conn.where}/{conn.database} {source.jdbc.table}")
            with postgres.connect(conn) as db:
                written = load_table(db, source, data[name], _stamp(scale), force)
            results.append(SeedResult(domain, name, data[name].num_rows, None, written, "PostgreSQL"))
    return results
