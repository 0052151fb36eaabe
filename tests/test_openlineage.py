"""OpenLineage run events of real builds, validated against the OpenLineage JSON schemas (tests/data), the
openlineage-python models of the facets whose schema is not copied there, and the platform's own facet schema."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import AssetKey, DagsterInstance, materialize
from deltalake import DeltaTable
from jsonschema import Draft202012Validator, ValidationError
from openlineage.client.facet_v2 import (
    documentation_dataset,
    documentation_job,
    job_type_job,
    ownership_dataset,
    ownership_job,
    storage_dataset,
    symlinks_dataset,
)
from openlineage.client.serde import Serde
from referencing import Registry, Resource

from mesh_platform.contracts.loader import parse_contract
from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring import contract_facet
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.settings import openlineage_file
from mesh_platform.storage import bronze_path, product_path, write_arrow

SPEC = Path(__file__).parent / "data" / "openlineage"
FACET_SCHEMAS = {  # facet name -> its schema file (each also checks the base facet fields)
    "schema": "SchemaDatasetFacet", "version": "DatasetVersionDatasetFacet",
    "outputStatistics": "OutputStatisticsOutputDatasetFacet", "errorMessage": "ErrorMessageRunFacet",
    "parent": "ParentRunFacet", "tags": "TagsRunFacet",
}
# (where, facet name) -> the openlineage-python model that must rebuild the facet exactly: its required fields,
# no unknown ones, and its spec `_schemaURL`; the base facet fields are checked against the core schema.
MODELS = {
    ("dataset", "symlinks"): lambda f: symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(**i) for i in f.pop("identifiers")], **f),
    ("dataset", "storage"): lambda f: storage_dataset.StorageDatasetFacet(**f),
    ("dataset", "ownership"): lambda f: ownership_dataset.OwnershipDatasetFacet(
        owners=[ownership_dataset.Owner(**o) for o in f.pop("owners")], **f),
    ("dataset", "documentation"): lambda f: documentation_dataset.DocumentationDatasetFacet(**f),
    ("job", "jobType"): lambda f: job_type_job.JobTypeJobFacet(**f),
    ("job", "ownership"): lambda f: ownership_job.OwnershipJobFacet(
        owners=[ownership_job.Owner(**o) for o in f.pop("owners")], **f),
    ("job", "documentation"): lambda f: documentation_job.DocumentationJobFacet(**f),
}
BASE_FACET = {"dataset": "DatasetFacet", "job": "JobFacet", "run": "RunFacet", "output": "OutputDatasetFacet"}


@pytest.fixture(scope="module")
def validate():
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    core_resource = Resource.from_contents({**core, "$defs": core["definitions"]})  # see tests/data/openlineage/SOURCE.md
    registry = Registry().with_resources(
        [(f"https://openlineage.io/spec/{v}/OpenLineage.json", core_resource) for v in ("1-0-1", "1-0-2", "2-0-2")]
    )
    checker = Draft202012Validator.FORMAT_CHECKER
    event_validator = Draft202012Validator(core, registry=registry, format_checker=checker)
    facet_validators = {
        name: Draft202012Validator(json.loads((SPEC / f"{file}.json").read_text()), registry=registry, format_checker=checker)
        for name, file in FACET_SCHEMAS.items()
    }
    ours = contract_facet.facet_schema()  # the custom facet's schema, as the package ships it
    facet_validators[contract_facet.NAME] = Draft202012Validator(ours, registry=registry, format_checker=checker)
    base = {where: Draft202012Validator({"$ref": f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{d}"},
                                        registry=registry, format_checker=checker) for where, d in BASE_FACET.items()}

    def check(event: dict) -> None:
        event_validator.validate(event)
        facets = [("run", n, f) for n, f in event["run"].get("facets", {}).items()]
        facets += [("job", n, f) for n, f in event["job"].get("facets", {}).items()]
        for d in event.get("inputs", []) + event.get("outputs", []):
            facets += [("dataset", n, f) for n, f in d.get("facets", {}).items()]
            facets += [("output", n, f) for n, f in d.get("outputFacets", {}).items()]
        for where, name, facet in facets:
            base[where].validate(facet)
            if (where, name) in MODELS:
                fields = {k: v for k, v in facet.items() if not k.startswith("_")}
                assert Serde.to_dict(MODELS[where, name]({**fields, "producer": facet["_producer"]})) == facet, name
            else:
                facet_validators[name].validate({name: facet})
        if contract_facet.NAME in event["run"]["facets"]:
            assert event["run"]["facets"][contract_facet.NAME]["_schemaURL"].split("#")[0] == ours["$id"]

    return check


def _events_of(dagster_run_id: str, path: Path) -> list[dict]:
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in events if e["run"]["facets"]["parent"]["run"]["runId"] == dagster_run_id]


def test_every_build_of_the_mesh_sends_start_then_complete_with_versions_and_schemas(
    mesh_published, instance, lake_root, validate
):
    contracts = all_contracts()
    for product, result in mesh_published.items():
        contract = contracts[product]
        key = AssetKey([contract.domain, contract.asset_name])
        events = [e for e in _events_of(result.run_id, openlineage_file()) if e["job"]["name"] == ".".join(key.path)]
        for event in events:
            validate(event)
        assert [e["eventType"] for e in events] == ["START", "COMPLETE"], product
        start, complete = events
        assert start["run"]["runId"] == complete["run"]["runId"]
        assert complete["run"]["facets"]["parent"]["run"]["runId"] == result.run_id

        materialization = next(r for r in instance.fetch_materializations(key, limit=50).records
                               if r.run_id == result.run_id).asset_materialization.metadata
        (output,) = complete["outputs"]
        table_path = product_path(lake_root, contract.domain, contract.asset_name)
        assert (output["namespace"], output["name"]) == ("file", str(table_path))
        assert output["facets"]["version"]["datasetVersion"] == str(materialization["delta_version"].value)
        assert output["outputFacets"]["outputStatistics"]["rowCount"] == materialization["dagster/row_count"].value
        table = DeltaTable(str(table_path), version=materialization["delta_version"].value)
        assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [f.name for f in table.schema().fields]

        # what a catalog shows: the logical name, storage, owner, description, job type, contract and verdict
        facets = output["facets"]
        assert facets["symlinks"]["identifiers"] == [{"namespace": "mesh", "name": product, "type": "TABLE"}]
        assert (facets["storage"]["storageLayer"], facets["storage"]["fileFormat"]) == ("delta", "parquet")
        assert facets["ownership"]["owners"] == [{"name": contract.owner, "type": "MAINTAINER"}]
        assert facets["documentation"]["description"] == " ".join(contract.description.split())
        for event in events:
            job = event["job"]["facets"]
            assert (job["jobType"]["processingType"], job["jobType"]["integration"]) == ("BATCH", "DAGSTER")
            assert job["ownership"]["owners"][0]["name"] == contract.owner
            assert job["documentation"]["description"].startswith(f"Builds {product} v{contract.version}")
        verdicts = [e["run"]["facets"]["mesh_contract"] for e in events]
        assert {v["contractVersion"] for v in verdicts} == {contract.version}
        assert [v["gate"]["verdict"] for v in verdicts] == ["pending", "passed"]
        assert verdicts[1]["gate"]["blockingFailures"] == [] and verdicts[1]["gate"]["checksRun"] > 0
        for upstream in contract.dependencies:  # a consumed product is named as the product it is
            up = contracts[upstream.product]
            read = next(d for d in start["inputs"] if d["name"] == str(product_path(lake_root, up.domain, up.asset_name)))
            assert read["facets"]["symlinks"]["identifiers"][0]["name"] == upstream.product
            assert read["facets"]["ownership"]["owners"][0]["name"] == up.owner

        inputs = {d["name"]: d["facets"]["version"]["datasetVersion"] for d in start["inputs"]}
        for source in contract.sources:
            assert str(bronze_path(lake_root, contract.domain, source)) in inputs
        pinned = materialization["source_versions"].value if contract.dependencies else {}
        for upstream, read in pinned.items():  # consumed products, at the version the build pinned
            up = contracts[upstream]
            assert inputs[str(product_path(lake_root, up.domain, up.asset_name))] == str(read["version"])
    consumers = [p for p in mesh_published if contracts[p].dependencies]
    assert consumers, "the shipped mesh has cross-product lineage to check"


PARCELS = {
    "name": "parcels", "domain": "depot", "version": "1.0.0", "owner": "team:depot",
    "description": "Parcels in the depot", "primary_key": ["parcel_id"], "sources": ["parcels"],
    "sla": {"freshness_hours": 1},
    "schema": [{"name": "parcel_id", "type": "string", "nullable": False, "description": "Parcel"}],
}


def _publish(tmp_path, ids: list[str | None], instance):
    contract = parse_contract(PARCELS, "parcels.yaml")
    assets = [bronze_spec("depot", "parcels", "team:depot"), product_asset(contract, lambda ctx: ctx.source("parcels"))]
    write_arrow(pa.table({"parcel_id": pa.array(ids, pa.string())}), bronze_path(tmp_path / "lake", "depot", "parcels"))
    return materialize(assets, resources=platform_resources("depot"), instance=instance, raise_on_error=False)


def test_a_refused_build_sends_fail_and_events_also_go_to_an_http_endpoint(tmp_path, monkeypatch, webhook, validate):
    url, received = webhook
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("MESH_OPENLINEAGE_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MESH_OPENLINEAGE_URL", url)
    instance = DagsterInstance.ephemeral()
    good, bad = _publish(tmp_path, ["p1", "p2"], instance), _publish(tmp_path, ["p1", None], instance)  # a null key
    assert good.success and not bad.success
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    for event in events:
        validate(event)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "FAIL"]
    fail = events[3]
    assert fail["run"]["runId"] == events[2]["run"]["runId"] != events[0]["run"]["runId"]
    assert fail["outputs"] == []
    assert "breaks its contract" in fail["run"]["facets"]["errorMessage"]["message"]
    assert fail["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    gate = fail["run"]["facets"]["mesh_contract"]["gate"]  # refused by the gate, naming the check that blocked it
    assert gate["verdict"] == "refused" and gate["blockingFailures"], gate
    assert all(name in fail["run"]["facets"]["errorMessage"]["message"] for name in gate["blockingFailures"])
    assert events[1]["run"]["facets"]["mesh_contract"]["gate"]["verdict"] == "passed"
    with pytest.raises(ValidationError):  # the platform's facet schema checks too: a verdict it does not define
        validate({**fail, "run": {**fail["run"], "facets": {**fail["run"]["facets"],
                  "mesh_contract": {**fail["run"]["facets"]["mesh_contract"], "gate": {**gate, "verdict": "maybe"}}}}})
    (source,) = events[2]["inputs"]
    assert source["facets"]["version"]["datasetVersion"] == "1"  # the second write of the bronze table
    assert received == events  # the same events, POSTed to the endpoint
    with pytest.raises(ValidationError):  # the schemas do check: a run id must be a UUID
        validate({**fail, "run": {**fail["run"], "runId": "depot.parcels-1"}})


def test_monitoring_off_sends_no_events_and_records_no_cost(tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("MESH_OPENLINEAGE_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MESH_MONITORING", "off")
    result = _publish(tmp_path, ["p1"], DagsterInstance.ephemeral())
    assert result.success
    metadata = result.asset_materializations_for_node("depot__parcels")[0].metadata
    assert metadata["dagster/row_count"].value == 1 and not [k for k in metadata if k.startswith("cost/")]
    assert not (tmp_path / "events.jsonl").exists()
