"""The benchmark suite in one command: each figure against a baseline measured in the same run.

    .venv/bin/python bench/run.py            # TPC-H SF 1, medians of 3 runs (about 1.5 hours on 2 cores)
    .venv/bin/python bench/run.py --smoke    # SF 0.01, one run, a 40-product synthetic mesh: does it all work?

1. full mesh (`mesh materialize`) on each engine vs a plain PySpark script on it: <= 1.3x Sail, <= 1.2x JVM;
   the platform's fixed cost per product step: median <= 0.25 s                           plain_pyspark.py
2. checks + gate vs the build: <= 0.15x; one Spark job per rule vs checks + gate: >= 5x     checks.py
3. publish (Spark to Delta) vs Spark writing plain Parquet: <= 1.2x                         publish.py
4. overhead per asset of a UI-launched multiprocess run with a shared server: <= 1.5 s      ui_run.py
5. the 2,000-product mesh (50 domains): location load and `mesh lint` <= 5 s, the asset graph query <= 2 s synthetic_mesh.py
   and its full refresh on Sail (15,000 rows per bronze table: SF 0.01), with its fixed cost per product   synthetic_refresh.py
6. peak memory of the full-mesh run (with 1)
7. partitioned sales.orders: a one-month refresh vs the full rebuild <= 0.1x, the backfill of every month
   vs an unpartitioned build <= 1.3x, the backfill's peak memory <= the unpartitioned build's  partitions.py
Every result row is also written as JSON (--out). Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import checks  # noqa: E402
import partitions  # noqa: E402
import plain_pyspark  # noqa: E402
import publish  # noqa: E402
import synthetic_refresh  # noqa: E402
import ui_run  # noqa: E402
from harness import ROOT  # noqa: E402

SMOKE = {"scale": 0.01, "runs": 1, "products": 40, "domains": 4}


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, {java}"


def synthetic(args) -> list[dict]:
    """The synthetic mesh's own benchmark, as a subprocess (it starts its own `dagster dev`)."""
    command = [sys.executable, str(ROOT / "bench" / "synthetic_mesh.py"), "bench", "--runs", str(args.runs),
               "--products", str(args.products), "--domains", str(args.domains), "--json", str(args.out) + ".synthetic"]
    if args.smoke:
        command += ["--queries", "2"]
    done = subprocess.run(command, cwd=ROOT)
    rows = json.loads(Path(str(args.out) + ".synthetic").read_text())
    return rows if done.returncode in (0, 1) else rows + [{"name": "synthetic mesh bench crashed", "pass": False}]


def print_table(rows: list[dict]) -> None:
    print(f"\n{'measure':70s} {'median':>9s} {'baseline':>9s} {'ratio':>7s}  target    verdict")
    for r in rows:
        if "median_gib" in r:
            compared = "" if "baseline_gib" not in r else (
                f" {r['baseline_gib']:>5} GiB {r['ratio']:>5.2f}x  {r['target']:9s} {'pass' if r['pass'] else 'MISS'}")
            print(f"{r['name'][:70]:70s} {r['median_gib']:>7} GiB{compared}")
            continue
        median, base = r.get("median_s"), r.get("baseline_median_s")
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") is not None else ""
        verdict = "info" if r.get("pass") is None else ("pass" if r["pass"] else "MISS")
        print(f"{r['name'][:70]:70s} {median if median is not None else '':>8}s {base if base is not None else '':>8}"
              f"{'s' if base is not None else ' '} {ratio:>7s}  {r.get('target') or '':9s} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--engines", nargs="+", default=["jvm", "sail"], choices=["jvm", "sail"])
    parser.add_argument("--products", type=int, default=2000, help="synthetic mesh size")
    parser.add_argument("--domains", type=int, default=50)
    parts = ["mesh", "checks", "publish", "ui", "synthetic", "refresh", "partitions"]
    parser.add_argument("--only", nargs="+", default=parts, choices=parts)
    checks.add_reference_runs(parser)
    parser.add_argument("--smoke", action="store_true", help="tiny and once: that every benchmark still works")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    args.lake, args.sizes = None, ",".join(str(n) for n in (10_000, 100_000, 1_000_000, 3_000_000))
    print(f"benchmark suite at SF {args.scale:g}, {args.runs} runs; {machine()}", flush=True)
    started, rows = time.perf_counter(), []
    if "synthetic" in args.only:  # first: it needs no data, and a quiet machine for its latencies
        rows += synthetic(args)
    if "refresh" in args.only:
        rows += synthetic_refresh.run(args.products, args.domains, synthetic_refresh.ROWS)
    if "mesh" in args.only:  # smoke: Sail only (the JVM pass of the tests runs every product on the JVM)
        for engine in ["sail"] if args.smoke else args.engines:
            os.environ["MESH_SPARK_ENGINE"] = engine
            rows += [{**r, "name": f"[{engine}] {r['name']}"} for r in plain_pyspark.run(args)]
        os.environ.pop("MESH_SPARK_ENGINE")
    if "ui" in args.only:
        # smoke: the default configuration only (a shared server per engine is two more `dagster dev` starts)
        engines = [ui_run.DEFAULT] if args.smoke else [ui_run.DEFAULT, *args.engines]
        rows += ui_run.run(argparse.Namespace(**{**vars(args), "engines": engines}))
    os.environ["MESH_SPARK_ENGINE"] = "jvm"  # these two measure inside one local JVM session (Spark's job statistics)
    if "checks" in args.only:
        rows += checks.run(args)
    if "publish" in args.only:
        rows += publish.run(args)
    os.environ.pop("MESH_SPARK_ENGINE")
    if "partitions" in args.only:  # smoke: Sail only (a JVM start per build would be most of the smoke's time)
        for engine in ["sail"] if args.smoke else args.engines:
            rows += partitions.run(args, engine)
    print_table(rows)
    args.out.write_text(json.dumps({"machine": machine(), "scale": args.scale, "runs": args.runs, "rows": rows,
                                    "minutes": round((time.perf_counter() - started) / 60, 1)}, indent=1))
    print(f"\n{len(rows)} results in {(time.perf_counter() - started) / 60:.1f} min, written to {args.out}")
    broken = [r for r in rows if r.get("name", "").endswith("crashed") or r.get("must_pass") and not r["pass"]]
    if args.smoke and broken:
        print("broken: " + "; ".join(r["name"] for r in broken))
        sys.exit(1)


if __name__ == "__main__":
    main()
