"""Full mesh as one plain PySpark script (the baseline) versus `mesh materialize`, at a TPC-H scale.

    .venv/bin/python bench/plain_pyspark.py --scale 1 --runs 3

The baseline is what a team would write without the platform: one SparkSession with the platform's
local settings, the bronze Delta tables read as Parquet file lists, the domains' own transform functions
called in dependency order, each result written with `write_deltalake(..., df.toArrow())`. No Dagster,
no contracts checked, no governance, no lineage. Both sides run as fresh processes (JVM start included),
alternating, on one seeded lake; the plain tables land in a folder of their own, and their row counts
must equal the mesh's, so the baseline computes the same products.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from datetime import date
from graphlib import TopologicalSorter
from pathlib import Path

import yaml
from deltalake import DeltaTable, write_deltalake

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, PeakMemory, bench_parser, runs_since, seeded_environment  # noqa: E402

# The values of mesh_platform/spark/resource.py LOCAL_DEFAULTS, copied so that the baseline imports no
# platform code but runs Spark exactly as the platform's local session does.
SPARK_CONF = {
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "2g",
    "spark.hadoop.parquet.hadoop.vectored.io.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
DEFAULT_AS_OF = "1998-08-02"  # the platform's default as-of date (settings.DEFAULT_AS_OF)
TARGETS = {"sail": 1.3, "jvm": 1.2}  # mesh / plain, per engine
FIXED_TARGET = 0.25  # seconds of fixed cost per product step (median of the products)
PEAK_RSS: list[int] = []  # of each `mesh materialize` process tree, in bytes


def engine() -> str:
    """The engine both sides run on: MESH_SPARK_ENGINE, or the platform's default (settings.DEFAULT_ENGINE)."""
    return os.environ.get("MESH_SPARK_ENGINE", "sail")


@dataclass(frozen=True)
class PlainContext:
    """All a transform uses of the platform's BuildContext: source(), product(), in_partition(), as_of, spark.
    The script builds every product whole, as one unpartitioned build."""

    spark: object
    as_of: date
    sources: dict
    products: dict
    partition: None = None

    def source(self, name: str):
        return self.sources[name]

    def in_partition(self, df, column: str):
        return df

    def product(self, key: str):
        return self.products[key]


def _transforms(domain: str):
    # transforms.py imports BuildContext (an annotation only) from mesh_platform.product, whose package
    # __init__ loads the Dagster asset factory: a stand-in module keeps Dagster and the platform out of
    # this process. mesh_platform.columns (money(), identifier(): two column expressions) is the domain
    # code's own dependency and stays real.
    if "mesh_platform.product" not in sys.modules:
        stub = types.ModuleType("mesh_platform.product")
        stub.BuildContext = PlainContext
        sys.modules["mesh_platform.product"] = stub
    return importlib.import_module(f"domains.{domain}.transforms")


def _contracts() -> dict[str, dict]:
    """Every product's contract YAML, by domain.product, read as plain data."""
    found = {}
    for path in sorted((ROOT / "domains").glob("*/contracts/*.yaml")):
        spec = yaml.safe_load(path.read_text())
        found[f"{spec['domain']}.{spec['name']}"] = spec
    return found


def _read(spark, path: Path):
    return spark.read.parquet(*DeltaTable(str(path)).file_uris())


def build_all(lake: Path, out: Path) -> dict:
    """The plain script itself: every product, in dependency order, into `out/<domain>/gold/<product>`.
    Returns each product's rows and seconds (read, transform, toArrow, write), and the session start."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    started = time.perf_counter()
    if engine() == "sail":  # the same script on Sail: its server in this process
        from pysail.spark import SparkConnectServer

        server = SparkConnectServer("127.0.0.1", 0)
        server.start(background=True)
        spark = SparkSession.builder.remote(f"sc://127.0.0.1:{server.listening_address[1]}").getOrCreate()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    else:
        builder = SparkSession.builder.appName("plain-mesh").master("local[*]")
        for key, value in SPARK_CONF.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    as_of = date.fromisoformat(os.environ.get("MESH_AS_OF") or DEFAULT_AS_OF)
    contracts = _contracts()
    graph = {k: {d["product"] for d in c.get("dependencies", [])} for k, c in contracts.items()}
    rows, seconds, session = {}, {}, time.perf_counter() - started
    for key in TopologicalSorter(graph).static_order():
        started = time.perf_counter()
        spec = contracts[key]
        domain, name = key.split(".")
        sources = {t: _read(spark, lake / domain / "bronze" / t) for t in spec.get("sources", [])}
        products = {p: _read(spark, out / p.split(".")[0] / "gold" / p.split(".")[1]) for p in graph[key]}
        df = getattr(_transforms(domain), name)(PlainContext(spark, as_of, sources, products))
        # the same columns as the published table: the contract's first, then the audit columns
        stamp = F.current_timestamp()
        if spec.get("kind") == "composed":
            df = df.withColumn("_source_products", F.array(*[F.lit(p) for p in sorted(graph[key])]))
            df = df.withColumn("_composed_at", stamp)
        df = df.withColumn("_computed_at", stamp).withColumn("_product_version", F.lit(spec["version"]))
        declared = [c["name"] for c in spec["schema"]]
        df = df.select(*declared, *[c for c in df.columns if c not in declared])
        data = df.toArrow()
        write_deltalake(str(out / domain / "gold" / name), data, mode="overwrite")
        rows[key], seconds[key] = data.num_rows, time.perf_counter() - started
    assert "dagster" not in sys.modules, "the baseline must not load Dagster"
    assert not [m for m in sys.modules if m.startswith("mesh_platform.") and m not in
                {"mesh_platform.product", "mesh_platform.columns"}], "the baseline must not load the platform"
    spark.stop()
    return {"rows": rows, "seconds": seconds, "session_seconds": session}


def plain_mesh_seconds(lake: str | Path, out: str | Path | None = None, details: dict | None = None) -> float:
    """Wall seconds of the plain script as a fresh process (interpreter, imports, JVM start included);
    `details` receives what build_all() returned."""
    out = Path(out or tempfile.mkdtemp(prefix="plain-mesh-"))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(lake), str(out)], cwd=ROOT,
                          env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    if details is not None:
        details.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return seconds


def mesh_seconds(env: dict[str, str], details: dict | None = None, cwd: Path = ROOT) -> float:
    """Wall seconds of `mesh materialize` as a fresh process run from `cwd` (its mesh), as
    bench/mesh_materialize.py runs it; `details` receives each product's step, build and check seconds
    from the Dagster instance (also when it fails: RuntimeError with its output's tail)."""
    began, started = time.time(), time.perf_counter()
    process = subprocess.Popen([str(BIN / "mesh"), "materialize"], env=env, cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakMemory(process.pid) as memory:  # the whole tree: Python, the JVM or Sail, Dagster's children
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    PEAK_RSS.append(memory.peak)
    if details is not None:
        for recorded in runs_since(Path(env["DAGSTER_HOME"]), began):
            for m in recorded.materializations:
                key = ".".join(m.asset_key.path)
                details[key] = {"step": recorded.step_seconds.get("__".join(m.asset_key.path), 0.0),
                                "build": m.metadata["build_seconds"].value, "checks": m.metadata["check_seconds"].value}
    if process.returncode != 0:
        raise RuntimeError(stdout[-3000:] + stderr[-3000:])
    return seconds


def breakdown(mesh: list[dict], plain: list[dict], mesh_walls: list[float], plain_walls: list[float]) -> list[float]:
    """Where the time goes, per product and outside the products (medians over runs); returns each product's
    fixed cost ('rest': its step but the transform's compute with its write, and the checks)."""
    def med(values):
        return statistics.median(values) if values else 0.0

    print(f"  {'product':34s} {'mesh step':>9s} {'build':>6s} {'checks':>6s} {'rest':>6s} {'plain':>6s}")
    totals = dict.fromkeys(("step", "build", "checks", "plain"), 0.0)
    fixed = []
    for key in sorted(plain[0]["seconds"]):
        m = {k: med([d[key][k] for d in mesh if key in d]) for k in ("step", "build", "checks")}
        p = med([d["seconds"][key] for d in plain])
        totals = {k: totals[k] + (p if k == "plain" else m[k]) for k in totals}
        fixed.append(m["step"] - m["build"] - m["checks"])
        print(f"  {key:34s} {m['step']:9.2f} {m['build']:6.2f} {m['checks']:6.2f} {fixed[-1]:6.2f} {p:6.2f}")
    rest = totals["step"] - totals["build"] - totals["checks"]
    print(f"  {'all products':34s} {totals['step']:9.1f} {totals['build']:6.1f} {totals['checks']:6.1f} "
          f"{rest:6.1f} {totals['plain']:6.1f}")
    # what lies outside the products, per run, then the median (walls and parts of one run together)
    outside = med([w - sum(d[k]["step"] for k in d) for w, d in zip(mesh_walls, mesh)])
    print(f"  mesh: {outside:.1f}s per run outside product steps (process, code locations, Dagster runs); "
          "'build' = the transform computed and written to staging; 'rest' = the platform's fixed cost: reading "
          "inputs at vetted versions, the commit, monitoring, Dagster's step bookkeeping (the JVM start is in "
          "the first step)")
    session = med([d["session_seconds"] for d in plain])
    imports = med([w - d["session_seconds"] - sum(d["seconds"].values()) for w, d in zip(plain_walls, plain)])
    print(f"  plain: session start {session:.1f}s, {imports:.1f}s interpreter, imports and exit")
    return fixed


def table_rows(root: Path) -> dict[str, int]:
    """Rows of every `<domain>/gold/<product>` Delta table under `root` (from file statistics)."""
    return {f"{p.parent.parent.name}.{p.name}": DeltaTable(str(p)).to_pyarrow_dataset().count_rows()
            for p in sorted(root.glob("*/gold/*")) if (p / "_delta_log").is_dir()}


def result(name: str, values: list[float], baseline: str, base: list[float], target: float, at_most: bool) -> dict:
    median, base_median = statistics.median(values), statistics.median(base)
    ratio = median / base_median
    return {"name": name, "median_s": round(median, 3), "baseline": baseline,
            "baseline_median_s": round(base_median, 3), "ratio": round(ratio, 3),
            "target": f"{'<=' if at_most else '>='} {target}x", "pass": ratio <= target if at_most else ratio >= target,
            "runs": [round(v, 2) for v in values], "baseline_runs": [round(v, 2) for v in base]}


def run(args) -> list[dict]:
    env = seeded_environment(args.scale, args.lake)
    lake = Path(env["MESH_LAKE_ROOT"])
    out = Path(tempfile.mkdtemp(prefix="plain-mesh-"))
    mesh, plain, mesh_details, plain_details = [], [], [], []
    for i in range(args.runs):
        # alternate which side goes first, so neither always meets a colder page cache
        for side in (("plain", "mesh") if i % 2 == 0 else ("mesh", "plain")):
            if side == "plain":
                plain_details.append({})
                plain.append(plain_mesh_seconds(lake, out, plain_details[-1]))
            else:
                mesh_details.append({})
                mesh.append(mesh_seconds(env, mesh_details[-1]))
        # the 1-minute load average: another process on the 2 cores shows up here, and explains outliers
        print(f"  run {i + 1}: mesh materialize {mesh[-1]:.1f}s, plain PySpark {plain[-1]:.1f}s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    mesh_rows, plain_rows = table_rows(lake), table_rows(out)
    assert mesh_rows == plain_rows and len(mesh_rows) == len(_contracts()), (mesh_rows, plain_rows)
    print(f"  same {len(mesh_rows)} tables, same row counts ({sum(mesh_rows.values()):,} rows in all)")
    fixed = breakdown(mesh_details, plain_details, mesh, plain)
    peaks = PEAK_RSS[-len(mesh):]
    fixed_median = statistics.median(fixed)
    return [result(f"full mesh (mesh materialize, {len(mesh_rows)} products)", mesh,
                   "plain PySpark script", plain, TARGETS[engine()], at_most=True),
            {"name": "fixed cost per product step (median of the products)", "median_s": round(fixed_median, 3),
             "per_product": [round(f, 3) for f in fixed], "target": f"<= {FIXED_TARGET} s",
             "pass": fixed_median <= FIXED_TARGET},
            {"name": "full mesh: peak memory (process tree)", "median_gib": round(statistics.median(peaks) / 2**30, 2),
             "runs": [round(p / 2**30, 2) for p in peaks], "pass": None}]


def print_rows(rows: list[dict]) -> None:
    for r in rows:
        if "per_product" in r:
            print(f"{r['name']:55s} {r['median_s']:8.2f}s  (target {r['target']}: {'pass' if r['pass'] else 'FAIL'})")
            continue
        if "median_gib" in r:
            print(f"{r['name']:55s} {r['median_gib']:8.2f} GiB (runs: {r['runs']})")
            continue
        print(f"{r['name']:55s} {r['median_s']:8.2f}s  vs {r['baseline']} {r['baseline_median_s']:.2f}s  "
              f"= {r['ratio']:.2f}x (target {r['target']}: {'pass' if r['pass'] else 'FAIL'})")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # the baseline process itself
        sys.path.insert(0, str(ROOT))  # the domains package
        print(json.dumps(build_all(Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    args = bench_parser(__doc__).parse_args()
    print(f"plain PySpark vs full mesh at SF {args.scale:g}, {os.cpu_count()} cores, {args.runs} runs each")
    print_rows(run(args))


if __name__ == "__main__":
    main()
