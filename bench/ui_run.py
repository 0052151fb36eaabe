"""Per-step overhead of a UI-launched run: `dagster dev` as a newcomer runs it, or the multiprocess executor
with a shared Spark server.

    .venv/bin/python bench/ui_run.py --scale 1 --runs 3

Starts `dagster dev` as `./scripts/dev` does (`default`: the in-process executor, each run its own Sail
server), or with `MESH_EXECUTOR=multiprocess` and `MESH_SPARK_REMOTE` pointing at one shared server (a JVM
Spark Connect server, or a Sail server), launches the sales domain through the GraphQL
mutation the UI's Materialize button sends, and splits each run's wall time (the run's own start and end)
into product work, each product's `cost/wall_seconds` (build, checks, publish), and overhead: the run
worker's start, code loads, a process per step, client sessions and IO-manager hand-offs. Steps off the
longest dependency chain run in parallel, so overhead per asset = (run wall time - product work along
that chain) / the chain's assets; target at most 1.0 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from dagster_dev import dagster_dev  # noqa: E402
from harness import bench_parser, runs_since, seeded_environment  # noqa: E402
from spark_servers import connect_server, sail_server  # noqa: E402

LAUNCH = """mutation($keys: [AssetKeyInput!], $tags: [ExecutionTag!]) { launchPipelineExecution(executionParams: {
  selector: {repositoryLocationName: "sales", repositoryName: "__repository__", pipelineName: "__ASSET_JOB",
             assetSelection: $keys}, mode: "default", executionMetadata: {tags: $tags}}) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
SALES = ("sales/orders", "sales/customer_lifetime_value", "sales/order_analytics")


def every_month() -> list[dict]:
    """The run's tags: sales.orders is monthly, so the run builds all its partitions (as the UI's backfill
    dialog does with "all partitions" in one run), then its consumers."""
    from mesh_platform.mesh import all_contracts
    from mesh_platform.product.partitions import partitions_def
    from mesh_platform.settings import fixed_as_of

    keys = partitions_def(all_contracts()["sales.orders"], fixed_as_of()).get_partition_keys()
    return [{"key": "dagster/asset_partition_range_start", "value": keys[0]},
            {"key": "dagster/asset_partition_range_end", "value": keys[-1]}]
TARGET = 1.0  # seconds per asset beyond the work, at most


SERVERS = {"jvm": connect_server, "sail": sail_server}
DEFAULT = "default"  # what `./scripts/dev` runs: the in-process executor, a Sail server per run


def critical_path(work: dict[str, float]) -> tuple[float, int]:
    """(seconds, assets) of the longest dependency chain of product work: steps off it run in parallel."""
    from mesh_platform.mesh import all_contracts

    contracts, memo = all_contracts(), {}

    def longest(key: str) -> tuple[float, int]:
        if key not in memo:
            upstream = [d.product for d in contracts[key].dependencies if d.product in work]
            seconds, assets = max((longest(u) for u in upstream), default=(0.0, 0))
            memo[key] = (seconds + work[key], assets + 1)
        return memo[key]

    return max(longest(k) for k in work)


def _one_run(server, home: Path) -> tuple[float, float, int, float, float]:
    """(run wall seconds, product work on the critical path, its assets, seconds from the launch to the run's
    enqueueing, and to its start) of one UI-launched run."""
    since = time.time()
    launched = server.graphql(LAUNCH, {"keys": [{"path": k.split("/")} for k in SALES],
                                       "tags": every_month()})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert server.wait_for_run(launched["run"]["runId"]) == "SUCCESS"
    (run,) = [r for r in runs_since(home, since) if r.run_id == launched["run"]["runId"]]
    work = {".".join(m.asset_key.path): m.metadata["cost/wall_seconds"].value for m in run.materializations}
    return (run.wall_seconds, *critical_path(work), run.planning_seconds, run.launch_seconds)


@contextmanager
def _configuration(engine: str):
    """`dagster dev`'s extra environment: nothing for the default (the in-process executor, each run its own
    Sail server), else the multiprocess executor with `engine`'s shared server."""
    if engine == DEFAULT:
        yield {}
        return
    with SERVERS[engine]() as url:
        yield {"MESH_EXECUTOR": "multiprocess", "MESH_SPARK_REMOTE": url}


def measure(engine: str, env: dict[str, str], runs: int) -> dict:
    home = Path(env["DAGSTER_HOME"]) / f"ui-{engine}"
    with _configuration(engine) as extra:
        with dagster_dev(home, Path(env["MESH_LAKE_ROOT"]), extra_env=extra) as server:
            server.wait_for_locations()
            _one_run(server, home)  # warm-up: the server's first queries, file-system caches
            samples = [_one_run(server, home) for _ in range(runs)]
    med = statistics.median
    return {"engine": engine, "wall": med(s[0] for s in samples), "work": med(s[1] for s in samples),
            "overhead_per_asset": med((wall - work) / assets for wall, work, assets, _, _ in samples),
            "planning": med(s[3] for s in samples), "launch": med(s[4] for s in samples), "samples": samples}


def run(args) -> list[dict]:
    env = seeded_environment(args.scale, args.lake)
    os.environ.update({k: env[k] for k in ("MESH_LAKE_ROOT", "DAGSTER_HOME")})
    rows = []
    for engine in args.engines:
        found = measure(engine, env, args.runs)
        setup = ("the default (in-process executor, Sail per run)" if engine == DEFAULT
                 else f"multiprocess + shared {engine} server")
        rows.append({"name": f"UI-launched run, {setup}: overhead per asset",
                     "median_s": round(found["overhead_per_asset"], 3), "target": f"<= {TARGET} s",
                     "pass": found["overhead_per_asset"] <= TARGET,
                     "detail": f"run {found['wall']:.1f} s, product work on its critical path {found['work']:.1f} s "
                               f"({found['samples'][0][2]} of {len(SALES)} assets); runs (wall/work): "
                               + ", ".join(f"{s[0]:.1f}/{s[1]:.1f}" for s in found["samples"])})
        rows.append({"name": f"UI-launched run, {setup}: from the launch to the run's start",
                     "median_s": round(found["launch"], 2), "pass": None,
                     "detail": f"of which {found['planning']:.1f} s before it is queued (the webserver writing its "
                               "planned events), the rest the queue and the run worker's start"})
    return rows


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--engines", nargs="+", default=[DEFAULT, "sail", "jvm"], choices=[DEFAULT, *SERVERS])
    args = parser.parse_args()
    for row in run(args):
        verdict = "info" if row["pass"] is None else f"{'pass' if row['pass'] else 'MISS'}, target {row['target']}"
        print(f"{row['name']}: {row['median_s']:.2f} s ({verdict})")
        print(f"  {row['detail']}")


if __name__ == "__main__":
    main()
