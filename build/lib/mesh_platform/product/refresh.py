"""Refreshing from the UI: one domain and everything downstream of it, or the whole mesh.

Runs never span code locations, so the UI's global "Materialize all" refuses the mesh ("Assets can only be
materialized together if they are defined in the same code location"). Two launches replace it:

- `<domain>_refresh`, a job in each domain's location: rebuilds every product of the domain in one run.
  Every real build is a new data version, so the automation of the consuming domains rebuilds what reads
  them, in dependency order, without another click.
- `refresh_mesh`, a job in the governance location: one run that only records the request. Each domain's
  `<domain>_mesh_refresh` sensor sees it succeed and launches its domain's source-aligned products (those
  consuming no other product); the automation rebuilds everything downstream of them.
"""

from collections.abc import Sequence

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobSelector,
    OpExecutionContext,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    define_asset_job,
    job,
    op,
    run_status_sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from mesh_platform import settings

REFRESH_MESH_JOB = "refresh_mesh"
GOVERNANCE_LOCATION = "governance"


def refresh_job_name(domain: str) -> str:
    return f"{domain}_refresh"


def domain_refresh_job(domain: str, products: Sequence[AssetKey]) -> UnresolvedAssetJobDefinition:
    """The domain's products in one run (the location's executor: one Spark session for all of them)."""
    return define_asset_job(
        refresh_job_name(domain),
        selection=AssetSelection.assets(*products),
        description=f"Rebuilds every {domain} product in one run; the products of other domains that read "
        "them are rebuilt after it by their domains' automation. Launch it from this page: Materialize all.",
        tags={"mesh/refresh": domain},
    )


def mesh_refresh_sensor(domain: str, refresh_job: UnresolvedAssetJobDefinition,
                        roots: Sequence[AssetKey]) -> SensorDefinition:
    """Launches `roots` (the domain's products that read only its sources) once per successful
    `refresh_mesh` run of the governance location."""

    @run_status_sensor(
        name=f"{domain}_mesh_refresh",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[JobSelector(location_name=GOVERNANCE_LOCATION, repository_name="__repository__",
                                    job_name=REFRESH_MESH_JOB)],
        request_job=refresh_job,
        minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.STOPPED if settings.automation_paused() else DefaultSensorStatus.RUNNING,
        description=f"When the governance location's {REFRESH_MESH_JOB} job succeeds, rebuilds the {domain} "
        "products that read only its sources; automation rebuilds the rest of the mesh after them.",
    )
    def _launch_roots(context: RunStatusSensorContext):
        # One run per request: the run key is the request's run id, so a re-evaluated tick launches nothing twice.
        return RunRequest(run_key=context.dagster_run.run_id, asset_selection=list(roots),
                          tags={"mesh/refresh": "mesh", "mesh/refresh_request": context.dagster_run.run_id})

    return _launch_roots


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
