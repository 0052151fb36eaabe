"""When the council's assets recompute: a sensor following the products' data versions, not lineage edges.

The council's assets (compliance, mesh_health, cost) read the instance, not the products' data, so they
declare no dependency on them: a catalog importing the lineage graph (Atlan, DataHub, Marquez) would
otherwise show them as a child of every product. This sensor keeps their automation: it remembers each
product's latest data version (its cursor) and requests one run of the council's assets when one of them
changed. As the automation condition it replaces: a renewal ("checked, still current") keeps its data
version, so it recomputes nothing; nothing runs while a product was never published (a filling mesh would
otherwise recompute after each product) or while the previous run is in progress (the changes wait for it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.data_version import extract_data_version_from_entry

from mesh_platform import settings

SENSOR_NAME = "governance_propagation"
IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED]


def data_versions(instance, products: Sequence[AssetKey]) -> dict[str, str]:
    """Each published product's latest data version, by asset key (products never published are left out)."""
    versions = {}
    for key in products:
        record = instance.get_latest_data_version_record(key, is_source=False)
        version = extract_data_version_from_entry(record.event_log_entry) if record else None
        if version is not None:
            versions[key.to_user_string()] = version.value
    return versions


def governance_propagation(council: Sequence[AssetsDefinition], products: Sequence[AssetKey]):
    targets = [key for assets in council for key in assets.keys]

    @sensor(
        name=SENSOR_NAME,
        asset_selection=AssetSelection.assets(*targets),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.sensor_interval(),
        description="Recomputes compliance, the health scorecard and cost whenever a product publishes a new "
        "data version (renewals do not count).",
    )
    def _propagation(context: SensorEvaluationContext):
        now = data_versions(context.instance, products)
        if len(now) < len(products):
            return SkipReason(f"{len(products) - len(now)} of {len(products)} products never published")
        running = RunsFilter(tags={"dagster/sensor_name": SENSOR_NAME}, statuses=IN_PROGRESS)
        if context.instance.get_run_records(running, limit=1):
            return SkipReason("the previous recomputation is still in progress")
        seen = json.loads(context.cursor or "{}")
        changed = sorted(key for key, version in now.items() if seen.get(key) != version)
        if not changed:
            return SkipReason("no product published a new data version")
        return SensorResult(
            run_requests=[RunRequest(asset_selection=targets, tags={"mesh/changed_products": ",".join(changed)[:200]})],
            cursor=json.dumps(now, sort_keys=True),
        )

    return _propagation
