"""A full refresh of the synthetic mesh on Sail, and the platform's cost per product.

    .venv/bin/python bench/synthetic_refresh.py --products 2000 --domains 50 --rows 15000

Generates the mesh (bench/synthetic_mesh.py), seeds each of its bronze tables with `--rows` rows (15,000:
TPC-H orders at SF 0.01), and runs `mesh materialize` from the mesh's folder as a fresh process: every
product of every domain, one Dagster run per domain, on the default engine (Sail). Reports the wall time,
its peak memory, and per product (medians): the step, the build, the checks, and the rest, the platform's
fixed cost (as bench/plain_pyspark.py splits it). Its one target is that every product is published.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

sys.path.insert(0, str(Path(__file__).parent))
from harness import ROOT, runs_since  # noqa: E402
from plain_pyspark import PEAK_RSS, mesh_seconds  # noqa: E402
from synthetic_mesh import BRONZE_COLUMNS, generate, mesh_env  # noqa: E402

STATES = ("active", "pending", "closed")
ROWS = 15_000  # per bronze table: TPC-H orders at SF 0.01


def bronze(rows: int, salt: int) -> pa.Table:
    """One bronze table: unique ids, values inside every synthetic contract's rules (deterministic)."""
    start, stamp = date(1992, 1, 1), datetime(1998, 8, 1, tzinfo=UTC)
    ids = range(1, rows + 1)
    data = {
        "id": pa.array(ids, pa.int64()),
        "day": pa.array([start + timedelta(days=(i * 7 + salt) % 2400) for i in ids], pa.date32()),
        "state": pa.array([STATES[(i + salt) % 3] for i in ids]),
        "qty": pa.array([(i * 13 + salt) % 50 for i in ids], pa.int32()),
        "amount": pa.array([((i * 37 + salt) % 100_000) / 100 for i in ids], pa.float64()),
        "score": pa.array([((i * 11 + salt) % 1000) / 1000 for i in ids], pa.float64()),
        "ts": pa.array([stamp - timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="UTC")),
        "email": pa.array([f"user{i}@example.com" for i in ids]),
    }
    assert list(data) == list(BRONZE_COLUMNS)
    return pa.table(data)


def seed(lake: Path, tables: dict[str, list[str]], rows: int) -> int:
    """Writes every domain's bronze tables where its sources.yaml's delta sources live; returns their count."""
    for d, (domain, names) in enumerate(tables.items()):
        for t, name in enumerate(names):
            write_deltalake(str(lake / domain / "bronze" / name), bronze(rows, d * 7 + t), mode="overwrite")
    return sum(map(len, tables.values()))


def refresh(out: Path, lake: Path, home: Path) -> dict:
    """`mesh materialize` of the whole mesh from its folder; wall seconds, peak memory and each product's split."""
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = mesh_env(out, MESH_LAKE_ROOT=str(lake), DAGSTER_HOME=str(home), MESH_SPARK_ENGINE="sail", COLUMNS="200")
    products, began, failure = {}, time.perf_counter(), ""
    try:
        wall = mesh_seconds(env, products, cwd=out)
    except RuntimeError as failed:  # a product not published: the report says which and why
        wall, failure = time.perf_counter() - began, str(failed)
    for split in products.values():
        split["rest"] = split["step"] - split["build"] - split["checks"]
    return {"wall": wall, "peak_rss": PEAK_RSS[-1], "products": products,
            "runs": len(runs_since(home, 0)), "ok": not failure, "tail": failure}


def report(found: dict, manifest: dict, rows: int) -> list[dict]:
    med, products = statistics.median, found["products"]
    split = {part: med(p[part] for p in products.values()) for part in ("step", "build", "checks", "rest")}
    total = {part: sum(p[part] for p in products.values()) for part in ("step", "rest")}
    published = len(products) == manifest["products"] and found["ok"]
    print(f"\nfull refresh on Sail: {manifest['products']} products in {len(manifest['domains'])} domains, "
          f"{rows:,} rows per bronze table; {found['wall']:.0f} s wall in {found['runs']} runs, peak RSS "
          f"{found['peak_rss'] / 2**30:.2f} GiB; {len(products)} products published")
    print(f"per product, medians: step {split['step']:.2f} s = build {split['build']:.2f} + checks "
          f"{split['checks']:.2f} + fixed cost {split['rest']:.2f} s; steps {total['step']:.0f} s in all "
          f"(fixed {total['rest']:.0f} s), {found['wall'] - total['step']:.0f} s outside the steps")
    if not published:
        print(found["tail"])
    size = f"{manifest['products']}-product mesh"
    return [{"name": f"{size}: full refresh on Sail, every product published", "median_s": round(found["wall"], 1),
             "target": "all published", "pass": published, "must_pass": True,  # bench/run.py --smoke fails else
             "detail": f"{len(products)} of {manifest['products']} published in {found['runs']} runs"},
            {"name": f"{size}: full refresh, step per product (median)", "median_s": round(split["step"], 3),
             "pass": None},
            {"name": f"{size}: full refresh, fixed cost per product step (median)", "median_s": round(split["rest"], 3),
             "target": "<= 0.25 s", "pass": split["rest"] <= 0.25},
            {"name": f"{size}: full refresh, peak memory", "median_gib": round(found["peak_rss"] / 2**30, 2)}]


def run(products: int, domains: int, rows: int) -> list[dict]:
    out, lake, home = (Path(tempfile.mkdtemp(prefix=f"synthetic-{part}-")) for part in ("mesh", "lake", "home"))
    try:
        manifest = generate(out, products, domains)
        print(f"seeded {seed(lake, manifest['tables'], rows)} bronze tables; materializing {products} products ...",
              flush=True)
        return report(refresh(out, lake, home), manifest, rows)
    finally:
        for folder in (out, lake, home):
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--rows", type=int, default=ROWS, help="rows per bronze table")
    parser.add_argument("--json", type=Path, default=None, help="also write the result rows here")
    args = parser.parse_args()
    rows = run(args.products, args.domains, args.rows)
    if args.json:
        args.json.write_text(json.dumps(rows))
    sys.exit(0 if rows[0]["pass"] else 1)


if __name__ == "__main__":
    main()
