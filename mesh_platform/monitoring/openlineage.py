"""OpenLineage run events for product builds, sent with the openlineage-python client.

One OpenLineage run per product build: START when it begins (with the tables it reads at their Delta
versions), COMPLETE once its new Delta version is committed (with that version, row count and size),
FAIL when it is refused or crashes. Each run names the Dagster run as its parent. Events go to
MESH_OPENLINEAGE_FILE, and to MESH_OPENLINEAGE_URL when set (see settings.py).

The client takes ~0.3 s to import, so observe.py imports this module at the first event, never while
a code location loads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.transport.composite import CompositeConfig, CompositeTransport
from openlineage.client.transport.file import FileConfig, FileTransport

from mesh_platform import settings
from mesh_platform.monitoring.lineage import BuildRun, Dataset

PRODUCER = "https://github.com/data-mesh-platform/mesh_platform"
JOB_NAMESPACE = "mesh"
DAGSTER_NAMESPACE = "dagster"
DATASET_NAMESPACE = "file"  # OpenLineage naming for local paths: namespace `file`, name = the path


def _client() -> OpenLineageClient:
    path: Path = settings.openlineage_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = settings.openlineage_url()
    if not url:
        return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(path), append=True)))
    transports = [{"type": "file", "log_file_path": str(path), "append": True}, {"type": "http", "url": url}]
    return OpenLineageClient(transport=CompositeTransport(CompositeConfig(transports=transports)))


def _facets(dataset: Dataset) -> dict:
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in dataset.columns.items()]
    facets = {"schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)}
    if dataset.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(dataset.version), producer=PRODUCER
        )
    return facets


def _parent(build: BuildRun) -> parent_run.ParentRunFacet:
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=build.dagster_run_id),
        job=parent_run.Job(namespace=DAGSTER_NAMESPACE, name=build.dagster_job),
        producer=PRODUCER,
    )


def emit(
    state: str,
    build: BuildRun,
    inputs: list[Dataset],
    output: Dataset | None = None,
    rows: int | None = None,
    size_bytes: int | None = None,
    error: str | None = None,
) -> RunEvent:
    run_facets: dict = {"parent": _parent(build)}
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    outputs = []
    if output is not None:
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, size=size_bytes, producer=PRODUCER
        )
        outputs.append(OutputDataset(namespace=DATASET_NAMESPACE, name=output.path, facets=_facets(output),
                                     outputFacets={"outputStatistics": stats}))
    event = RunEvent(
        eventType=RunState(state),
        eventTime=datetime.now(UTC).isoformat(),
        producer=PRODUCER,
        run=Run(runId=build.run_id, facets=run_facets),
        job=Job(namespace=JOB_NAMESPACE, name=build.product),
        inputs=[InputDataset(namespace=DATASET_NAMESPACE, name=d.path, facets=_facets(d)) for d in inputs],
        outputs=outputs,
    )
    _client().emit(event)
    return event
