"""The platform's upkeep: a daily vacuum of every product table, the read audit's hourly compaction, and
failing runs a killed `mesh materialize` left."""


from dagster import (
    AssetExecutionContext,
    Config,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    OpExecutionContext,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    job,
    op,
    sensor,
)
from pydantic import Field

from mesh_platform import settings
from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring.orphans import fail_orphaned_cli_runs

VACUUM_CRON = "30 3 * * *"  # daily, at a quiet hour of the instance's timezone


class VacuumConfig(Config):
    retention_hours: float = Field(
        default=settings.VACUUM_RETENTION_HOURS,
        description="Unreferenced files younger than this stay: writes in progress stage their files there.",
    )
    lake_root: str = Field(default="", description="The lake to vacuum; empty: MESH_LAKE_ROOT.")
    dry_run: bool = Field(default=False, description="List what would be removed; remove nothing.")


@asset(
    key=["governance", "lake_vacuum"],
    group_name="governance",
    owners=["team:governance-council"],
    kinds={"python", "deltalake"},
    description="Removes what no Delta version of a product references: staging folders of killed writers "
    "and files whose versions left the log, after the retention. Also `mesh vacuum`.",
)
def lake_vacuum(context: AssetExecutionContext, config: VacuumConfig) -> MaterializeResult:
    from pathlib import Path

    from mesh_platform.storage.vacuum import product_tables, vacuum_tables

    lake_root = Path(config.lake_root) if config.lake_root else settings.lake_root()
    reports = vacuum_tables(product_tables(lake_root, all_contracts()), config.retention_hours, config.dry_run)
    files, size = sum(len(r.removed) for r in reports), sum(r.removed_bytes for r in reports)
    context.log.info(f"vacuum of {lake_root}: {'would remove' if config.dry_run else 'removed'} {files} files, "
                     f"{size} bytes")
    rows = "\n".join(f"| {r.table} | {len(r.removed)} | {r.removed_bytes} | {len(r.kept_recent)} |" for r in reports)
    return MaterializeResult(metadata={
        "removed_files": MetadataValue.int(files),
        "removed_bytes": MetadataValue.int(size),
        "retention_hours": MetadataValue.float(config.retention_hours),
        "dry_run": MetadataValue.bool(config.dry_run),
        "by_product": MetadataValue.md(
            "| product | files removed | bytes | recent staging kept |\n|---|---|---|---|\n" + rows),
    })


vacuum_job = define_asset_job("lake_vacuum_job", selection=[lake_vacuum],
                              description="Vacuums every product table (the daily schedule's job).")
vacuum_schedule = ScheduleDefinition(
    name="daily_lake_vacuum", job=vacuum_job, cron_schedule=VACUUM_CRON,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Removes killed writers' staging folders and expired files from every product table, daily.",
)


@sensor(name="orphaned_cli_runs", minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks runs of a killed `mesh materialize` failed; the run monitoring cannot see its process.")
def orphaned_cli_runs(context: SensorEvaluationContext) -> SkipReason:
    failed = fail_orphaned_cli_runs(context.instance, "the governance location's orphaned_cli_runs sensor")
    return SkipReason(f"marked failed: {', '.join(failed)}" if failed else "no orphaned mesh materialize run")


@op(description="Compacts the read audit under its appenders' lock (no row lost or duplicated, chain kept).")
def compact_read_audit(context: OpExecutionContext) -> None:
    from mesh_platform.access.audit import compact

    context.log.info(f"read audit: {compact(settings.lake_root())} files compacted")


@job(description="The read audit's compaction: the platform's job, never a reader's (also `mesh audit compact`).")
def read_audit_compaction():
    compact_read_audit()


audit_compaction_schedule = ScheduleDefinition(job=read_audit_compaction, cron_schedule="17 * * * *",
                                               default_status=DefaultScheduleStatus.RUNNING)
