"""What catalogs read off a product without reading its contract: Dagster's table metadata and the Delta
table's own description, both derived from the contract.

Atlan's and DataHub's Dagster integrations read `dagster/table_name` and `dagster/column_schema` (types,
descriptions, constraints, tags) off the asset definitions; Spark, Unity Catalog and Delta crawlers read the
Delta schema and metadata (storage/description.py). The contract says which columns are required, which
form the key, which are unique, which hold PII and how each is classified; these say it in their terms.
"""

from __future__ import annotations

from dagster import TableColumn, TableColumnConstraints, TableConstraints, TableSchema

from mesh_platform.contracts.model import Contract
from mesh_platform.storage.description import TableDescription

# The platform's columns: every build sets them (product/materialize.py), so they are required too.
AUDIT_DESCRIPTIONS = {
    "_computed_at": "UTC time of the build",
    "_product_version": "contract version of the build",
    "_source_products": "consumed products and the Delta versions read (domain.product@vN)",
    "_composed_at": "UTC time the sources were composed",
}


def table_name(contract: Contract) -> str:
    """The product's logical table name, `domain.product` (what `mesh read` and SQL tools name it by)."""
    return contract.key


def column_descriptions(contract: Contract) -> dict[str, str]:
    return {c.name: c.description for c in contract.columns} | AUDIT_DESCRIPTIONS


def required_columns(contract: Contract) -> frozenset[str]:
    """Columns never null: the contract's `nullable: false` ones and the platform's columns."""
    declared = {c.name for c in contract.columns if not c.nullable}
    return frozenset(declared | (set(contract.published_columns) - {c.name for c in contract.columns}))


def unique_columns(contract: Contract) -> frozenset[str]:
    """A single-column primary key and every column with a `unique` quality rule."""
    unique = {r.column for r in contract.quality if r.rule == "unique"}
    return frozenset(unique | (set(contract.primary_key) if len(contract.primary_key) == 1 else set()))


def _column_tags(contract: Contract, name: str) -> dict[str, str]:
    declared = next((c for c in contract.columns if c.name == name), None)
    if declared is None:  # a platform column
        return {"classification": "internal", "mesh/platform_column": "true"}
    return {"classification": declared.classification, **({"pii": "true"} if declared.pii else {})}


def column_schema(contract: Contract) -> TableSchema:
    """Every published column with its type, description, constraints and tags; the key as a table constraint."""
    required, unique, descriptions = required_columns(contract), unique_columns(contract), column_descriptions(contract)
    key = set(contract.primary_key)
    columns = [
        TableColumn(
            name=name, type=type_, description=descriptions[name],
            constraints=TableColumnConstraints(
                nullable=name not in required, unique=name in unique,
                other=["primary key"] if name in key else [],
            ),
            tags=_column_tags(contract, name),
        )
        for name, type_ in contract.published_columns.items()
    ]
    constraints = TableConstraints(other=[f"primary key ({', '.join(contract.primary_key)})"] if key else [])
    return TableSchema(columns=columns, constraints=constraints)


def delta_description(contract: Contract) -> TableDescription:
    return TableDescription(
        name=table_name(contract), description=contract.description, required=required_columns(contract),
        comments={k: v for k, v in column_descriptions(contract).items() if v},
        source=f"{contract.domain}/contracts/{contract.file_name}",
    )
