"""The platform's custom OpenLineage run facet `mesh_contract`: the contract a build is held to and the gate's verdict.

OpenLineage asks custom facets to carry a project prefix in their name and a `_schemaURL` naming their
JSON schema; ours ships in the package (schemas/MeshContractRunFacet.json, `$id` = SCHEMA_ID), so a
consumer validates the facet offline with `facet_schema()`.
"""

from __future__ import annotations

import json
from importlib.resources import files

import attr
from openlineage.client.generated.base import RunFacet

NAME = "mesh_contract"
SCHEMA_FILE = "MeshContractRunFacet.json"
SCHEMA_ID = ("https://raw.githubusercontent.com/data-mesh-platform/mesh_platform/main/"
             f"mesh_platform/monitoring/schemas/{SCHEMA_FILE}")


@attr.define
class GateFacetPart:
    verdict: str
    checksRun: int  # noqa: N815 (OpenLineage field names are camelCase)
    blockingFailures: list[str] = attr.field(factory=list)  # noqa: N815
    warnings: list[str] = attr.field(factory=list)


@attr.define
class MeshContractRunFacet(RunFacet):
    product: str
    contractVersion: str  # noqa: N815
    gate: GateFacetPart
    contractFile: str | None = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_ID}#/$defs/MeshContractRunFacet"


def facet_schema() -> dict:
    """The facet's JSON schema, as shipped in the package."""
    return json.loads(files("mesh_platform.monitoring").joinpath("schemas", SCHEMA_FILE).read_text())
