"""Every declared source as an observable source asset of its domain's code location.

An observation records the source's data version (what automation reacts to), its row count where
cheap, its newest-data time where the declaration says how to tell, and the `source_columns` check:
failed, with one line per drifted column, as soon as the data no longer fits the declaration, so the
UI shows it on the source before any product reads it. `source_events` builds those events once, for
the asset's observe function and for the automation's observation sensor alike.
"""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    AssetSpec,
    DataVersion,
    FreshnessPolicy,
    MetadataValue,
    ObserveResult,
    TableColumn,
    TableSchema,
    multi_observable_source_asset,
)
from dagster._core.definitions.data_version import DATA_VERSION_IS_USER_PROVIDED_TAG, DATA_VERSION_TAG
from dagster._utils.warnings import BetaWarning

from mesh_platform.sources.model import Source
from mesh_platform.sources.observe import SourceObservation, observe_source
from mesh_platform.storage.layout import BRONZE, bronze_key, io_schema

SOURCE_CHECK = "source_columns"
SOURCE_METADATA = "mesh/source"  # the declaration, so that a build's IO manager reads the source as declared
NEWEST_DATA_TIME = "mesh/newest_data_time"
OBSERVED_AT = "mesh/observed_at"
CHECK_DESCRIPTION = "The source's columns and types fit its declaration in sources.yaml."


def source_key(domain: str, source: Source) -> AssetKey:
    return bronze_key(domain, source.name)


def declared_schema(source: Source) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=c, type=t) for c, t in source.columns.items()])


def _where(source: Source, domain: str) -> str:
    if source.kind == "delta":
        path = source.delta.path if source.delta and source.delta.path else f"{domain}/bronze/{source.name}"
        return f"a Delta table at `<lake>/{path}`"
    if source.kind == "files":
        return f"{source.files.format} files `{source.files.glob}` landing in `{source.files.path}`"
    jdbc = source.jdbc
    where = jdbc.url or f"${jdbc.url_env}"  # never credentials: they are only named, by environment variable
    return f"PostgreSQL {'table `' + jdbc.table + '`' if jdbc.table else 'query'} at `{where}`"


def source_spec(domain: str, source: Source, owner: str) -> AssetSpec:
    fresh = source.freshness
    return AssetSpec(
        key=source_key(domain, source),
        group_name=domain,
        owners=[owner],
        kinds={source.kind},
        description=f"Source `{source.name}` of the {domain} domain: {_where(source, domain)}."
        + (f"\n\n{source.description.strip()}" if source.description else ""),
        freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(hours=fresh.max_age_hours))
        if fresh else None,
        metadata={
            "schema": io_schema(domain, BRONZE),
            "dagster/column_schema": declared_schema(source),
            SOURCE_METADATA: MetadataValue.json(source.model_dump(mode="json", exclude_none=True)),
            **({"max_age_hours": fresh.max_age_hours} if fresh else {}),
        },
        tags={"mesh/domain": domain, "mesh/layer": BRONZE, "mesh/source_kind": source.kind},
    )


def source_events(
    domain: str, source: Source, observation: SourceObservation, now: float
) -> list[AssetObservation | AssetCheckEvaluation]:
    """The events of one observation taken at `now` (epoch seconds): the observation, with its data
    version tag, then the `source_columns` check evaluation."""
    key = source_key(domain, source)
    metadata = {
        "dagster/column_schema": MetadataValue.table_schema(declared_schema(source)),
        "observed_columns": MetadataValue.json(observation.columns),
        OBSERVED_AT: MetadataValue.float(now),
    }
    if observation.row_count is not None:
        metadata["dagster/row_count"] = MetadataValue.int(observation.row_count)
    if observation.newest_data_time is not None:
        metadata[NEWEST_DATA_TIME] = MetadataValue.float(observation.newest_data_time)
        metadata["newest_data_at"] = datetime.fromtimestamp(observation.newest_data_time, UTC).isoformat()
    check = AssetCheckEvaluation(
        asset_key=key,
        check_name=SOURCE_CHECK,
        passed=not observation.problems,
        severity=AssetCheckSeverity.ERROR,
        description="\n".join(observation.problems) or CHECK_DESCRIPTION,
        metadata={"problems": MetadataValue.json(observation.problems), "data_version": observation.data_version},
    )
    tags = {DATA_VERSION_TAG: observation.data_version, DATA_VERSION_IS_USER_PROVIDED_TAG: "true"}
    return [AssetObservation(asset_key=key, metadata=metadata, tags=tags), check]


def _observe_result(events: list[AssetObservation | AssetCheckEvaluation]) -> ObserveResult:
    observation, *checks = events
    return ObserveResult(
        asset_key=observation.asset_key,
        data_version=DataVersion(observation.tags[DATA_VERSION_TAG]),
        metadata=observation.metadata,
        check_results=[
            AssetCheckResult(asset_key=c.asset_key, check_name=c.check_name, passed=c.passed, severity=c.severity,
                             description=c.description, metadata=c.metadata)
            for c in checks
        ],
    )


def source_asset(domain: str, source: Source, owner: str) -> AssetsDefinition:
    """The observable source asset of one declared source; observing it needs the `mesh` resource."""
    spec = source_spec(domain, source, owner)

    def _observe(context):
        observation = observe_source(source, domain, Path(context.resources.mesh.lake_root))
        return _observe_result(source_events(domain, source, observation, time.time()))

    with warnings.catch_warnings():  # the decorator is beta in Dagster 1.13; said once here, not per load
        warnings.simplefilter("ignore", BetaWarning)
        return multi_observable_source_asset(
            name=f"observe_{spec.key.to_python_identifier()}",
            specs=[spec],
            check_specs=[AssetCheckSpec(SOURCE_CHECK, asset=spec.key, description=CHECK_DESCRIPTION)],
            required_resource_keys={"mesh"},
        )(_observe)


def declared_source(metadata: dict | None) -> Source | None:
    """The declaration a source asset carries in its definition metadata (None for another asset)."""
    value = (metadata or {}).get(SOURCE_METADATA)
    value = getattr(value, "value", value)
    return Source.model_validate(value) if value else None
