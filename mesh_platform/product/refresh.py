"""Refreshing from the UI: one domain and everything downstream of it, or the whole mesh.

Runs never span code locations, so the UI's global "Materialize all" refuses the mesh ("Assets can only be
materialized together if they are defined in the same code location"). Two launches replace it, each a
request run that a sensor acts on:

- `<domain>_refresh`, a job in each domain's location: its `<domain>_refresh_products` sensor then
  rebuilds every product of the domain, every partition of the partitioned ones. Every real build is a new
  data version, so the automation of the consuming domains rebuilds what reads them, without another click.
- `refresh_mesh`, a job in the governance location. Each domain's `<domain>_mesh_refresh` sensor sees it
  succeed and rebuilds its domain's source-aligned products (those consuming no other product); the
  automation rebuilds everything downstream of them.

Why a request and a backfill, not one run of the products: a Dagster run builds one partition (or one
range) of one partitions definition, so a run mixing a partitioned product (sales.orders, by month) with
unpartitioned ones cannot be launched partition-less. Each sensor requests one asset backfill of all the
partitions of its products and the unpartitioned ones; Dagster's backfill daemon (which `dagster dev`
runs) builds them in dependency order, one run per partitions definition thanks to the products'
single-run backfill policy (product/partitions.py), the partitions of a range in one run
(`dagster/asset_partition_range_start/end`).
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetSelection,
    ConfigMapping,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    job,
    op,
    sensor,
)
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset  # not exported in 1.13
from dagster._time import get_current_timestamp

from mesh_platform import settings

REFRESH_MESH_JOB = "refresh_mesh"
GOVERNANCE_LOCATION = "governance"
SEEN = 100  # request runs a sensor's cursor remembers having acted on


def refresh_job_name(domain: str) -> str:
    return f"{domain}_refresh"


def _default_status() -> DefaultSensorStatus:
    return DefaultSensorStatus.STOPPED if settings.automation_paused() else DefaultSensorStatus.RUNNING


def domain_refresh_job(domain: str) -> JobDefinition:
    """The request to rebuild every product of `domain`; its `<domain>_refresh_products` sensor acts on it."""

    @op(name=f"request_{domain}_refresh",
        description=f"Records a request to rebuild every {domain} product; the {domain}_refresh_products "
        "sensor launches the backfill.")
    def request_refresh(context: OpExecutionContext) -> None:
        context.log.info(f"Refresh of {domain} requested (run {context.run_id}): the {domain}_refresh_products "
                         "sensor launches a backfill of every product, every partition of the partitioned ones.")

    # No run config: the domain's resources (the Delta IO manager's storage options, say) would otherwise show
    # in the launchpad, whose scaffold of them does not validate; a request needs none of them.
    @job(name=refresh_job_name(domain), tags={"mesh/refresh": domain},
         config=ConfigMapping(config_fn=lambda _: {}, config_schema={}),
         description=f"Rebuilds every {domain} product, every partition of the partitioned ones, in one backfill "
         f"launched by the {domain}_refresh_products sensor; the products of other domains that read them are "
         "rebuilt after it by their domains' automation. Launch it from this page: Launchpad, Launch run.")
    def refresh_domain() -> None:
        request_refresh()

    return refresh_domain


def backfill_on_request(name: str, request_job: str, products: Sequence[AssetKey], refresh: str,
                        description: str) -> SensorDefinition:
    """A sensor requesting, for each run of the job `request_job` that succeeds after its first tick, one
    backfill of every partition of `products` (the unpartitioned ones once), tagged with the request."""

    @sensor(name=name, asset_selection=AssetSelection.assets(*products), description=description,
            minimum_interval_seconds=settings.sensor_interval(), default_status=_default_status())
    def _backfill(context: SensorEvaluationContext):
        cursor = json.loads(context.cursor) if context.cursor else {"since": get_current_timestamp(), "seen": []}
        records = context.instance.get_run_records(RunsFilter(
            job_name=request_job, statuses=[DagsterRunStatus.SUCCESS],
            updated_after=datetime.fromtimestamp(cursor["since"], UTC)))
        requests = [r.dagster_run.run_id for r in sorted(records, key=lambda r: r.storage_id)
                    if r.dagster_run.run_id not in cursor["seen"]]
        cursor["seen"] = (cursor["seen"] + requests)[-SEEN:]
        if not requests:
            return SensorResult(skip_reason=SkipReason(f"no new successful {request_job} run"),
                                cursor=json.dumps(cursor))
        everything = AssetGraphSubset.from_asset_keys(products, context.repository_def.asset_graph)
        return SensorResult(cursor=json.dumps(cursor), run_requests=[
            RunRequest.for_asset_graph_subset(everything, tags={"mesh/refresh": refresh, "mesh/refresh_request": run})
            for run in requests])

    return _backfill


def domain_refresh_sensor(domain: str, products: Sequence[AssetKey]) -> SensorDefinition:
    return backfill_on_request(
        f"{domain}_refresh_products", refresh_job_name(domain), products, domain,
        f"When the {refresh_job_name(domain)} job succeeds, backfills every {domain} product (every partition of "
        "the partitioned ones) in dependency order; automation rebuilds what other domains build from them.")


def mesh_refresh_sensor(domain: str, roots: Sequence[AssetKey]) -> SensorDefinition:
    """Rebuilds `roots` (the domain's products that read only its sources, every partition) once per
    successful `refresh_mesh` run of the governance location."""
    return backfill_on_request(
        f"{domain}_mesh_refresh", REFRESH_MESH_JOB, roots, "mesh",
        f"When the governance location's {REFRESH_MESH_JOB} job succeeds, rebuilds the {domain} products that read "
        "only its sources (every partition); automation rebuilds the rest of the mesh after them.")


@op(description="Records a request to refresh the whole mesh; each domain's <domain>_mesh_refresh sensor acts on it.")
def request_mesh_refresh(context: OpExecutionContext) -> None:
    context.log.info(
        f"Refresh of the whole mesh requested (run {context.run_id}): each domain's <domain>_mesh_refresh "
        "sensor launches the products that read only its sources, and automation rebuilds everything downstream."
    )


@job(name=REFRESH_MESH_JOB, tags={"mesh/refresh": "mesh"},
     description="Refreshes the whole mesh: every domain rebuilds its products that read only its sources, "
     "then the automation rebuilds everything downstream in dependency order. Launch it from this page.")
def refresh_mesh() -> None:
    request_mesh_refresh()
