"""Contract checks + governance gate versus the build, and versus one Spark job per rule, per product.

    .venv/bin/python bench/checks.py --scale 1 --runs 3 [--products sales.orders,finance.pricing_summary]

One `mesh materialize` publishes the mesh (consumed products must exist, with their Dagster records),
then in one Spark session in this process, for each product and run:
  (a) build alone: transform + audit columns, persisted and counted into Spark's cache;
  (b) checked build: checks/sequence.check_build on the same persisted build, computed by the checks'
      aggregation (row rules, PII probe, drift metrics), then the key groupings, governance gate and
      drift. The checks' cost is (b) - (a), paired per run;
  (c) one job per rule, as the reference text validates: one count per contract column's nulls and per
      quality rule, a group-by count for each unique rule and the key, min/max by agg().first(); on the
      built DataFrame as the reference leaves it (not cached: each job recomputes the build; --reference-runs
      runs, 1 by default as it is slow) and, a stronger baseline, on the cache (b) filled.
Spark jobs of (b) and (c) are counted by job tag from Spark's status store (works with the UI off).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, bench_parser, seeded_environment  # noqa: E402

CHECKS_TARGET, PER_RULE_TARGET = 0.15, 5.0  # checks/build at most; per-rule/checks at least


class SparkJobs:
    """Tags Spark jobs by step and reads them back (id, duration, call site) from the status store."""

    def __init__(self, spark):
        self.sc = spark.sparkContext
        self.jvm = self.sc._jsc.sc()
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.seconds: dict[str, float] = {}
        self._began: tuple[str, float] | None = None

    def begin(self, name: str) -> None:
        """Jobs from now on belong to step `name` (ending the step before, if one is open)."""
        self.end()
        self._tag, self._began = f"{self.prefix}-{name}", (name, time.perf_counter())
        self.sc.addJobTag(self._tag)

    def end(self) -> None:
        if self._began is None:
            return
        name, began = self._began
        self.seconds[name] = time.perf_counter() - began
        self.sc.removeJobTag(self._tag)
        self._began = None

    @contextmanager
    def step(self, name: str):
        self.begin(name)
        try:
            yield
        finally:
            self.end()

    def jobs(self, name: str) -> list[tuple[int, float, str]]:
        self.jvm.listenerBus().waitUntilEmpty(10_000)  # the status store is fed asynchronously
        store, found = self.jvm.statusStore(), []
        for job_id in sorted(self.jvm.statusTracker().getJobIdsForTag(f"{self.prefix}-{name}")):
            job = store.job(job_id)
            ms = job.completionTime().get().getTime() - job.submissionTime().get().getTime()
            found.append((job_id, ms / 1000, job.name()))
        return found


def per_rule_validation(df, contract) -> dict:
    """The reference text's validate_data_product/validate_quality: one Spark action per check."""
    from pyspark.sql import functions as F

    found = {"rows": df.count()}
    for column in contract.columns:  # each schema column: present, typed (no job) and its null count
        assert column.name in df.columns
        found[f"nulls:{column.name}"] = df.filter(F.col(column.name).isNull()).count()
    for rule in contract.quality:
        col, name = F.col(rule.column), f"{rule.rule}:{rule.column}"
        if rule.rule == "not_null":  # completeness against the threshold
            found[name] = df.filter(col.isNull()).count()
        elif rule.rule == "unique":
            found[name] = df.groupBy(col).count().filter(F.col("count") > 1).count()
        elif rule.rule == "min":
            found[name] = df.agg(F.min(col)).first()[0]
        elif rule.rule == "max":
            found[name] = df.agg(F.max(col)).first()[0]
        elif rule.rule == "allowed_values":
            found[name] = df.filter(col.isNotNull() & ~col.isin(*rule.values)).count()
    if contract.primary_key:
        found["primary_key"] = df.groupBy(*contract.primary_key).count().filter(F.col("count") > 1).count()
    return found


class ProductBench:
    """One product's build inputs, read once as the factory reads them before its timed build."""

    def __init__(self, spark, instance, lake: Path, key: str):
        from mesh_platform.access.reader import open_product
        from mesh_platform.governance import domain_policies, lint_contract
        from mesh_platform.mesh import all_contracts, domain_module, domains_dir
        from mesh_platform.product.upstream import resolve
        from mesh_platform.storage.delta import read_delta
        from mesh_platform.storage.layout import bronze_path, product_key

        contracts = all_contracts()
        self.spark, self.instance, self.lake = spark, instance, lake
        self.contract = contract = contracts[key]
        self.key = product_key(contract.domain, contract.asset_name)
        self.transform = getattr(domain_module(contract.domain, "transforms"), contract.asset_name)
        self.policies = domain_policies(domains_dir() / contract.domain)
        self.where = f"{contract.domain}/contracts/{contract.file_name}"
        self.static = lint_contract(contract, self.policies, self.where)  # at asset definition, untimed
        self.sources = {t: read_delta(spark, bronze_path(lake, contract.domain, t)) for t in contract.sources}
        self.read = [resolve(d, contracts[d.product], contract.key, instance, lake, time.time())
                     for d in contract.dependencies]
        self.products = {s.product: open_product(spark, contracts[s.product], contract.domain, lake, s.version).df
                         for s in self.read}

    def build(self, cached: bool = True):
        """The product's DataFrame; `cached`: persisted (not computed: the first action computes it)."""
        from mesh_platform.product.build import BuildContext
        from mesh_platform.product.materialize import with_audit_columns
        from mesh_platform.settings import default_as_of

        ctx = BuildContext(self.spark, default_as_of(), self.sources, self.products)
        df = with_audit_columns(self.transform(ctx), self.contract, datetime.now(UTC), self.read)
        return df.persist() if cached else df

    def checks(self, df, jobs: SparkJobs) -> None:
        """factory.product_asset's build and check phases: the check sequence (checks/sequence.py)."""
        from mesh_platform.checks.drift import metric_history
        from mesh_platform.checks.sequence import check_build

        history = metric_history(self.instance, self.key)
        jobs.begin("pass")  # the build, computed by the row-level checks' aggregation
        report, _ = check_build(df, self.contract, policies=self.policies, static=self.static, where=self.where,
                                lake_root=self.lake, read=self.read, history=history,
                                after_pass=lambda: jobs.begin("after_pass"))
        jobs.end()
        assert not report.blocking_failures, [o.name for o in report.blocking_failures]


def result(name: str, value: float, baseline: str, base: float, target: float, at_most: bool, **extra) -> dict:
    ratio = value / base
    return {"name": name, "median_s": round(value, 3), "baseline": baseline, "baseline_median_s": round(base, 3),
            "ratio": round(ratio, 3), "target": f"{'<=' if at_most else '>='} {target}x",
            "pass": ratio <= target if at_most else ratio >= target, **extra}


def measure(bench: ProductBench, runs: int, reference_runs: int) -> dict:
    """Medians over `runs`: build alone, checks' cost (checked build - build, paired per run), one job
    per rule on the cache; over `reference_runs`: one job per rule as the reference runs it (no cache)."""
    times, steps = defaultdict(list), defaultdict(list)
    for i in range(runs):
        jobs = SparkJobs(bench.spark)
        sides = ("build", "checked") if i % 2 == 0 else ("checked", "build")  # neither always goes first
        for side in sides:
            started = time.perf_counter()
            df = bench.build()
            if side == "build":
                rows = df.count()
                times["build"].append(time.perf_counter() - started)
                df.unpersist()
                continue
            bench.checks(df, jobs)
            times["checked"].append(time.perf_counter() - started)
            with jobs.step("per_rule"):
                per_rule_validation(df, bench.contract)
            times["per_rule_cached"].append(jobs.seconds["per_rule"])
            df.unpersist()
        times["checks"].append(times["checked"][-1] - times["build"][-1])
        for name in ("pass", "after_pass"):
            steps[name].append(jobs.seconds[name])
    for _ in range(reference_runs):
        started = time.perf_counter()
        per_rule_validation(bench.build(cached=False), bench.contract)
        times["per_rule"].append(time.perf_counter() - started)
    check_jobs = [j for s in ("pass", "after_pass") for j in jobs.jobs(s)]
    return {"rows": rows, "runs": {k: [round(x, 2) for x in v] for k, v in times.items()},
            **{k: statistics.median(v) for k, v in times.items()},
            "steps": {k: statistics.median(v) for k, v in steps.items()},
            "check_jobs": check_jobs, "rule_jobs": jobs.jobs("per_rule")}


def add_reference_runs(parser) -> None:
    parser.add_argument("--reference-runs", type=int, default=1,
                        help="runs of the uncached one-job-per-rule validation (each job recomputes the build)")


def run(args) -> list[dict]:
    env = seeded_environment(args.scale, args.lake)
    # consumed products must be published, with the Dagster records the build's upstream resolution reads
    subprocess.run([str(BIN / "mesh"), "materialize"], env=env, cwd=ROOT, check=True, capture_output=True)
    os.environ.update(env)
    from mesh_platform.instance import get_instance
    from mesh_platform.mesh import all_contracts
    from mesh_platform.spark import SparkResource

    spark = SparkResource.from_env().spark_session
    instance, lake = get_instance(), Path(env["MESH_LAKE_ROOT"])
    chosen = getattr(args, "check_products", None)  # not `products`: a suite's args may use that name
    products = chosen.split(",") if chosen else sorted(all_contracts())
    rows, totals = [], defaultdict(float)
    for key in products:
        m = measure(ProductBench(spark, instance, lake, key), args.runs, args.reference_runs)
        for side in ("build", "checks", "per_rule", "per_rule_cached"):
            totals[side] += m[side]
        cost = max(m["checks"], 0.01)  # a cost within the noise is still a cost, for the ratio
        jobs = {"checks_jobs": len(m["check_jobs"]), "per_rule_jobs": len(m["rule_jobs"]), "rows": m["rows"]}
        rows += [result(f"{key}: checks + gate", m["checks"], f"{key}: build", m["build"], CHECKS_TARGET, True, **jobs),
                 result(f"{key}: one job per rule", m["per_rule"], f"{key}: checks + gate", cost,
                        PER_RULE_TARGET, False, **jobs)]
        print(f"{key} ({m['rows']:,} rows): build {m['build']:.2f}s, checked build {m['checked']:.2f}s "
              f"(checks + gate {m['checks']:.2f}s, {len(m['check_jobs'])} Spark jobs), one job per rule "
              f"{m['per_rule']:.2f}s, on the cache {m['per_rule_cached']:.2f}s ({len(m['rule_jobs'])} jobs)",
              flush=True)
        print("  checked build by step: " + ", ".join(f"{k} {v:.2f}s" for k, v in m["steps"].items()))
        print("  runs: " + "; ".join(f"{k} {v}" for k, v in m["runs"].items()))
        print("  checks' jobs: " + ", ".join(f"#{i} {s:.2f}s {n.split(' at ')[0]}" for i, s, n in m["check_jobs"]))
    n = len(products)
    rows += [result(f"all {n} products: checks + gate", totals["checks"], "build", totals["build"],
                    CHECKS_TARGET, True),
             result(f"all {n} products: one job per rule", totals["per_rule"], "checks + gate",
                    max(totals["checks"], 0.01), PER_RULE_TARGET, False),
             result(f"all {n} products: one job per rule on a cache", totals["per_rule_cached"], "checks + gate",
                    max(totals["checks"], 0.01), PER_RULE_TARGET, False)]
    spark.stop()
    return rows


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--products", dest="check_products", default=None,
                        help="comma-separated domain.product (default: all)")
    add_reference_runs(parser)
    args = parser.parse_args()
    print(f"checks vs build vs one job per rule at SF {args.scale:g}, {os.cpu_count()} cores, {args.runs} runs")
    for r in run(args):
        print(f"{r['name']:55s} {r['median_s']:7.2f}s vs {r['baseline']} {r['baseline_median_s']:.2f}s = "
              f"{r['ratio']:.2f}x (target {r['target']}: {'pass' if r['pass'] else 'FAIL'})")


if __name__ == "__main__":
    main()
