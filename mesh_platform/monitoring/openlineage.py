"""OpenLineage run events for product builds, sent with the openlineage-python client.

One OpenLineage run per product build: START when it begins (with the tables it reads at their Delta
versions), COMPLETE once its new Delta version is committed (with that version, row count and size),
FAIL when it is refused or crashes. Each run names the Dagster run as its parent. Events go to
MESH_OPENLINEAGE_FILE, and to MESH_OPENLINEAGE_URL when set (see settings.py).

What catalogs such as Marquez show comes from facets: the job's type (a BATCH Dagster asset build),
owner and documentation; each product dataset's logical name (`symlinks`: `sales.orders`, the name
`mesh read` takes), storage (Delta, Parquet files), owner and description; and the run's contract
version and gate verdict in the custom `mesh_contract` facet (contract_facet.py).

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
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    schema_dataset,
    storage_dataset,
    symlinks_dataset,
)
from openlineage.client.transport.composite import CompositeConfig, CompositeTransport
from openlineage.client.transport.file import FileConfig, FileTransport

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring import contract_facet
from mesh_platform.monitoring.lineage import BuildRun, Dataset, GateVerdict

PRODUCER = "https://github.com/data-mesh-platform/mesh_platform"
JOB_NAMESPACE = "mesh"
DAGSTER_NAMESPACE = "dagster"
DATASET_NAMESPACE = "file"  # OpenLineage naming for local paths: namespace `file`, name = the path
MESH_NAMESPACE = "mesh"  # where a product's logical name `domain.product` lives (its symlink)
OWNER_TYPE = "MAINTAINER"


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
    if dataset.delta:  # delta-rs commits Parquet data files
        facets["storage"] = storage_dataset.StorageDatasetFacet(storageLayer="delta", fileFormat="parquet",
                                                                producer=PRODUCER)
    if (product := dataset.product) is not None:
        facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[symlinks_dataset.Identifier(namespace=MESH_NAMESPACE, name=product.key, type="TABLE")],
            producer=PRODUCER)
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=product.owner, type=OWNER_TYPE)], producer=PRODUCER)
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=_described(product), contentType="text/plain", producer=PRODUCER)
    return facets


def _described(contract: Contract) -> str:
    return " ".join(contract.description.split())


def _job_facets(build: BuildRun) -> dict:
    facets: dict = {"jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER",
                                                            jobType="ASSET", producer=PRODUCER)}
    if (contract := build.contract) is not None:
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=contract.owner, type=OWNER_TYPE)], producer=PRODUCER)
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=f"Builds {contract.key} v{contract.version}: {_described(contract)}",
            contentType="text/plain", producer=PRODUCER)
    return facets


def _contract_facet(contract: Contract, gate: GateVerdict) -> contract_facet.MeshContractRunFacet:
    return contract_facet.MeshContractRunFacet(
        product=contract.key, contractVersion=contract.version,
        contractFile=f"{contract.domain}/contracts/{contract.file_name}" if contract.file_name else None,
        gate=contract_facet.GateFacetPart(gate.verdict, gate.checks_run, list(gate.blocking_failures),
                                          list(gate.warnings)),
        producer=PRODUCER)


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
    gate: GateVerdict | None = None,
) -> RunEvent:
    """`gate`: the verdict so far (None: checks not run yet, `pending` on START, `not reached` after)."""
    run_facets: dict = {"parent": _parent(build)}
    if build.contract is not None:
        verdict = gate or GateVerdict("pending" if state == "START" else "not reached")
        run_facets[contract_facet.NAME] = _contract_facet(build.contract, verdict)
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    outputs = []
    if output is not None:
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, size=size_bytes, producer=PRODUCER
        )
        if output.product is None and build.contract is not None:
            output = Dataset(output.path, output.version, output.columns, build.contract)
        outputs.append(OutputDataset(namespace=DATASET_NAMESPACE, name=output.path, facets=_facets(output),
                                     outputFacets={"outputStatistics": stats}))
    event = RunEvent(
        eventType=RunState(state),
        eventTime=datetime.now(UTC).isoformat(),
        producer=PRODUCER,
        run=Run(runId=build.run_id, facets=run_facets),
        job=Job(namespace=JOB_NAMESPACE, name=build.product, facets=_job_facets(build)),
        inputs=[InputDataset(namespace=DATASET_NAMESPACE, name=d.path, facets=_facets(d)) for d in inputs],
        outputs=outputs,
    )
    _client().emit(event)
    return event
