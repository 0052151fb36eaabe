"""Open Data Contract Standard (ODCS v3) export and import.

Everything ODCS has a field for maps to that field; what it has none for (PII flags, masking, row
filters, dependencies, product kind, refresh, sources, the SLA warning window, a deprecated major's
sunset and successor, `allow_empty`) travels as `customProperties` named `mesh.*`, so that a round trip
loses nothing. `status` says active, deprecated or retired. The minimum row count is the table's
`rowCount` library metric (>= 1 when the contract refuses only an empty build); a date bound is a SQL
count of offending rows that must be 0, with `${as_of}` for the run's as-of date and the bound as
written in `mesh.bound`.

So that tools test a published table as exported (datacontract-cli's `datacontract test`): the table
object's `name` and `physicalName` are the table's name (SQL tools query `FROM "<physicalName>"`), its
location is a `servers:` entry (`type: local`, `format: delta`, the table's folder), the freshness SLA
names its `element` (`<table>._computed_at`), and the platform columns every published table carries are
in the schema, marked `mesh.platform_column` (an import drops them: the platform adds them).
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path

from jsonschema import Draft201909Validator

from mesh_platform import settings
from mesh_platform.contracts.lifecycle import lifecycle
from mesh_platform.contracts.loader import ContractError, parse_contract
from mesh_platform.contracts.model import AUDIT_COLUMNS, LINEAGE_COLUMNS, Contract
from mesh_platform.contracts.odcs_rules import mesh_customs, min_rows, quality_rules, sla_hours
from mesh_platform.storage.layout import product_path

API_VERSION = "v3.1.0"
LOGICAL = {"string": "string", "boolean": "boolean", "date": "date", "timestamp": "timestamp",
           "int": "integer", "bigint": "integer", "smallint": "integer", "tinyint": "integer"}


PLATFORM_COLUMNS = {  # always written: the non-null ones are `required`
    "_computed_at": ("UTC time of the build", True),
    "_product_version": ("contract version of the build", True),
    "_source_products": ("consumed products and the Delta versions read (domain.product@vN)", True),
    "_composed_at": ("UTC time the sources were composed", True),
}
assert set(PLATFORM_COLUMNS) == set(AUDIT_COLUMNS) | set(LINEAGE_COLUMNS)


def _logical(spark_type: str) -> str:
    if spark_type.startswith("array"):
        return "array"
    return LOGICAL.get(spark_type, "number")  # float, double, decimal(p,s)


def _custom(**values) -> list[dict]:
    return [{"property": f"mesh.{k}", "value": v} for k, v in values.items() if v not in (None, [], {})]


def _quality(rule, position: int, as_of: date) -> dict:
    severity = "error" if rule.severity == "critical" else "warning"
    if rule.rule == "not_null":
        check = {"type": "library", "metric": "nullValues", "unit": "percent",
                 "mustBeLessOrEqualTo": round((1 - rule.threshold) * 100, 10)}
    elif rule.rule == "unique":
        check = {"type": "library", "metric": "duplicateValues", "mustBe": 0}
    elif rule.rule == "allowed_values":
        check = {"type": "library", "metric": "invalidValues", "arguments": {"validValues": rule.values}, "mustBe": 0}
    elif rule.date_bound is not None:
        return {"name": f"{rule.rule}_{rule.column}", "severity": severity, **_date_bound_check(rule, as_of),
                "customProperties": _custom(order=position, rule=rule.rule, bound=rule.value)}
    else:
        bound = "mustBeGreaterOrEqualTo" if rule.rule == "min" else "mustBeLessOrEqualTo"
        check = {"type": "sql", "query": f"SELECT {rule.rule.upper()}({rule.column}) FROM ${{object}}", bound: rule.value}
    # the position keeps the contract's rule order through a round trip (ODCS nests rules per column)
    return {"name": f"{rule.rule}_{rule.column}", "severity": severity, **check, "customProperties": _custom(order=position)}


def _date_bound_check(rule, as_of: date) -> dict:
    """SQL counting the rows beyond the bound; `${as_of}` stands for the run's as-of date, the mesh's default
    as-of date unless the variable is set (datacontract-cli reads it from the environment)."""
    bound = rule.date_bound
    if bound.absolute is not None:
        limit = f"DATE '{bound.absolute.isoformat()}'"
    else:
        limit = f"DATE '${{as_of:-{as_of.isoformat()}}}'"
        if bound.offset:
            unit = bound.unit.removesuffix("s").upper()
            limit += f" {'+' if bound.offset > 0 else '-'} INTERVAL '{abs(bound.offset)}' {unit}"
    beyond = "<" if rule.rule == "min" else ">"
    return {"type": "sql", "query": f"SELECT COUNT(*) FROM ${{object}} WHERE CAST({rule.column} AS DATE) {beyond} {limit}",
            "mustBe": 0}


def _row_count(contract: Contract) -> list[dict]:
    if contract.allow_empty:
        return []  # mesh.allow_empty at the top level says so
    return [{"name": "row_count", "type": "library", "metric": "rowCount", "severity": "error",
             "mustBeGreaterOrEqualTo": contract.min_rows or 1, "unit": "rows",
             "customProperties": _custom(min_rows=contract.min_rows)}]


def _platform_properties(contract: Contract) -> list[dict]:
    declared = {c.name for c in contract.columns}
    properties = []
    for name, type_ in contract.published_columns.items():
        if name in declared:
            continue
        description, required = PLATFORM_COLUMNS[name]
        prop = {"name": name, "logicalType": _logical(type_), "physicalType": type_, "required": required,
                "description": description, "classification": "internal",
                "customProperties": _custom(platform_column=True)}
        if prop["logicalType"] == "array":
            prop["items"] = {"logicalType": "string", "physicalType": "string"}
        properties.append(prop)
    return properties


def _server(contract: Contract, lake_root: Path | None) -> dict:
    root = Path(lake_root) if lake_root is not None else settings.lake_root()
    return {"server": "lake", "type": "local", "format": "delta",
            "path": str(product_path(root.resolve(), contract.domain, contract.asset_name)),
            "description": f"the published Delta table of {contract.key}"}


def to_odcs(contract: Contract, lake_root: Path | None = None, as_of: date | None = None) -> dict:
    """`lake_root`: where the table is published, for the `servers:` entry; `as_of`: the default of `${as_of}` in
    date-bound checks (the mesh's lake and default as-of date unless given)."""
    rules_by_column: dict[str, list] = {}
    for position, rule in enumerate(contract.quality):
        rules_by_column.setdefault(rule.column, []).append(_quality(rule, position, as_of or settings.default_as_of()))
    properties = []
    for column in contract.columns:
        prop = {"name": column.name, "logicalType": _logical(column.type), "physicalType": column.type,
                "required": not column.nullable, "classification": column.classification}
        if column.description:
            prop["description"] = column.description
        if column.name in contract.primary_key:
            prop |= {"primaryKey": True, "primaryKeyPosition": contract.primary_key.index(column.name) + 1}
        if contract.partitioning is not None and column.name == contract.partitioning.column:
            prop |= {"partitioned": True, "partitionKeyPosition": 1}  # how: the mesh.partitioning property
        if column.name in rules_by_column:
            prop["quality"] = rules_by_column[column.name]
        custom = _custom(pii=column.pii or None, masking=contract.access.masking.get(column.name))
        if custom:
            prop["customProperties"] = custom
        properties.append(prop)
    roles = [{"role": f"consumer:{c}", "access": "read",
              **({"customProperties": _custom(row_filter=contract.access.row_filters[c])}
                 if c in contract.access.row_filters else {})} for c in contract.access.consumers]
    document = {
        "apiVersion": API_VERSION, "kind": "DataContract", "id": contract.key, "name": contract.name,
        "version": contract.version, "status": lifecycle(contract), "domain": contract.domain, "dataProduct": contract.name,
        "description": {"purpose": contract.description}, "tags": list(contract.tags),
        "team": {"name": contract.owner},
        "servers": [_server(contract, lake_root)],
        "schema": [{"name": contract.asset_name, "physicalName": contract.asset_name,
                    "logicalType": "object", "physicalType": "table",
                    "properties": properties + _platform_properties(contract),
                    **({"quality": rows} if (rows := _row_count(contract)) else {})}],
        "slaProperties": [{"property": "freshness", "value": contract.sla.freshness_hours, "unit": "h",
                           "element": f"{contract.asset_name}._computed_at"}],
        "roles": roles,
        "customProperties": _custom(
            kind=contract.kind, refresh=contract.refresh, sources=contract.sources,
            dependencies=[d.model_dump() for d in contract.dependencies],
            sla_warn_after_hours=contract.sla.warn_after_hours, allow_empty=contract.allow_empty or None,
            partitioning=contract.partitioning.model_dump(mode="json") if contract.partitioning else None,
            **(contract.deprecation.model_dump(mode="json", exclude_defaults=True) if contract.deprecation else {}),
        ),
    }
    if not roles:
        del document["roles"]
    return document


@cache
def _validator() -> Draft201909Validator:
    return Draft201909Validator(json.loads(files("open_data_contract_standard").joinpath("schema.json").read_text()))


def odcs_schema_errors(document: dict) -> list[str]:
    """Violations of the standard's own JSON schema (from the open-data-contract-standard package)."""
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in _validator().iter_errors(document)]


def _min_rows(table: dict, source: str) -> tuple[int | None, bool]:
    """(min_rows, allow_empty) from the table's rowCount metric: >= 1 (refuse an empty build) is the default."""
    result = (None, False)
    for i, check in enumerate(table.get("quality") or []):
        if check.get("metric") != "rowCount":
            raise ContractError(f"{source}: schema[0].quality[{i}]: table check {check.get('name')!r} "
                                f"({check.get('metric') or check.get('type', 'library')}) has no equivalent contract "
                                "field; only rowCount (min_rows) is supported at table level")
        explicit = mesh_customs(check).get("min_rows")
        result = (int(explicit), False) if explicit is not None else min_rows(check, source)
    return result


def _freshness_hours(document: dict, source: str) -> float | None:
    for i, entry in enumerate(document.get("slaProperties") or []):
        if entry["property"] == "freshness":
            return sla_hours(entry, f"{source}: slaProperties[{i}]")
    return None


def from_odcs(document: dict, source: str) -> Contract:
    errors = odcs_schema_errors(document)
    if errors:
        raise ContractError("\n".join(f"{source}: {e}" for e in errors))
    if len(document.get("schema") or []) != 1:
        raise ContractError(f"{source}: schema: a data product contract describes exactly one table")
    table, extra = document["schema"][0], mesh_customs(document)
    columns, quality, masking = [], [], {}
    properties = table.get("properties") or []
    properties = [p for p in properties if p["name"] not in PLATFORM_COLUMNS]  # the platform adds them
    for position, prop in enumerate(properties):
        custom = mesh_customs(prop)
        columns.append({"name": prop["name"], "type": prop.get("physicalType") or prop["logicalType"],
                        "nullable": not prop.get("required", False), "description": prop.get("description", ""),
                        "pii": bool(custom.get("pii")), "classification": prop.get("classification", "internal")})
        quality += quality_rules(prop["name"], prop.get("quality") or [], f"schema[0].properties[{position}]", source)
        if "masking" in custom:
            masking[prop["name"]] = custom["masking"]
    keys = sorted((p for p in properties if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition", 0))
    minimum_rows, allow_empty = _min_rows(table, source)
    roles = [r for r in document.get("roles") or [] if r["role"].startswith("consumer:")]
    data = {
        "name": document.get("name") or table["name"], "domain": document.get("domain"),
        "version": document["version"], "owner": (document.get("team") or {}).get("name"),
        "description": (document.get("description") or {}).get("purpose", ""),
        "kind": extra.get("kind", "aggregate"), "tags": document.get("tags") or [],
        "primary_key": [p["name"] for p in keys], "sources": extra.get("sources", []),
        "dependencies": extra.get("dependencies", []), "refresh": extra.get("refresh", "on_upstream_change"),
        "sla": {"freshness_hours": _freshness_hours(document, source), "warn_after_hours": extra.get("sla_warn_after_hours")},
        "schema": columns, "quality": [rule for _, rule in sorted(quality, key=lambda item: item[0])],
        "min_rows": minimum_rows, "allow_empty": bool(extra.get("allow_empty")) or allow_empty,
        "access": {"consumers": [r["role"].removeprefix("consumer:") for r in roles], "masking": masking,
                   "row_filters": {r["role"].removeprefix("consumer:"): mesh_customs(r)["row_filter"]
                                   for r in roles if "row_filter" in mesh_customs(r)}},
    }
    if "partitioning" in extra:
        data["partitioning"] = extra["partitioning"]
    if "sunset" in extra:
        data["deprecation"] = {k: extra[k] for k in ("sunset", "successor", "note") if k in extra}
    return parse_contract(data, source)
