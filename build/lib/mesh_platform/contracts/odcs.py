"""Open Data Contract Standard (ODCS v3) export and import.

Everything ODCS has a field for maps to that field; what it has none for (PII flags, masking, row
filters, dependencies, product kind, refresh, sources, the SLA warning window, a deprecated major's
sunset and successor, `allow_empty`) travels as `customProperties` named `mesh.*`, so that a round trip
loses nothing. `status` says active, deprecated or retired. The minimum row count is the table's
`rowCount` library metric (>= 1 when the contract refuses only an empty build); a date bound is a SQL
count of offending rows that must be 0, with `${as_of}` for the run's as-of date and the bound as
written in `mesh.bound`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from jsonschema import Draft201909Validator

from mesh_platform.contracts.lifecycle import lifecycle
from mesh_platform.contracts.loader import ContractError, parse_contract
from mesh_platform.contracts.model import Contract

API_VERSION = "v3.1.0"
LOGICAL = {"string": "string", "boolean": "boolean", "date": "date", "timestamp": "timestamp",
           "int": "integer", "bigint": "integer", "smallint": "integer", "tinyint": "integer"}


def _logical(spark_type: str) -> str:
    if spark_type.startswith("array"):
        return "array"
    return LOGICAL.get(spark_type, "number")  # float, double, decimal(p,s)


def _custom(**values) -> list[dict]:
    return [{"property": f"mesh.{k}", "value": v} for k, v in values.items() if v not in (None, [], {})]


def _quality(rule, position: int) -> dict:
    severity = "error" if rule.severity == "critical" else "warning"
    if rule.rule == "not_null":
        check = {"type": "library", "metric": "nullValues", "unit": "percent",
                 "mustBeLessOrEqualTo": round((1 - rule.threshold) * 100, 10)}
    elif rule.rule == "unique":
        check = {"type": "library", "metric": "duplicateValues", "mustBe": 0}
    elif rule.rule == "allowed_values":
        check = {"type": "library", "metric": "invalidValues", "arguments": {"validValues": rule.values}, "mustBe": 0}
    elif rule.date_bound is not None:
        return {"name": f"{rule.rule}_{rule.column}", "severity": severity, **_date_bound_check(rule),
                "customProperties": _custom(order=position, rule=rule.rule, bound=rule.value)}
    else:
        bound = "mustBeGreaterOrEqualTo" if rule.rule == "min" else "mustBeLessOrEqualTo"
        check = {"type": "sql", "query": f"SELECT {rule.rule.upper()}({rule.column}) FROM ${{object}}", bound: rule.value}
    # the position keeps the contract's rule order through a round trip (ODCS nests rules per column)
    return {"name": f"{rule.rule}_{rule.column}", "severity": severity, **check, "customProperties": _custom(order=position)}


def _date_bound_check(rule) -> dict:
    """SQL counting the rows beyond the bound; `${as_of}` stands for the run's as-of date."""
    bound = rule.date_bound
    if bound.absolute is not None:
        limit = f"DATE '{bound.absolute.isoformat()}'"
    else:
        limit = "DATE '${as_of}'"
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


def to_odcs(contract: Contract) -> dict:
    rules_by_column: dict[str, list] = {}
    for position, rule in enumerate(contract.quality):
        rules_by_column.setdefault(rule.column, []).append(_quality(rule, position))
    properties = []
    for column in contract.columns:
        prop = {"name": column.name, "logicalType": _logical(column.type), "physicalType": column.type,
                "required": not column.nullable, "classification": column.classification}
        if column.description:
            prop["description"] = column.description
        if column.name in contract.primary_key:
            prop |= {"primaryKey": True, "primaryKeyPosition": contract.primary_key.index(column.name) + 1}
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
        "schema": [{"name": contract.name, "physicalName": f"{contract.domain}/gold/{contract.asset_name}",
                    "logicalType": "object", "physicalType": "table", "properties": properties,
                    **({"quality": rows} if (rows := _row_count(contract)) else {})}],
        "slaProperties": [{"property": "freshness", "value": contract.sla.freshness_hours, "unit": "h"}],
        "roles": roles,
        "customProperties": _custom(
            kind=contract.kind, refresh=contract.refresh, sources=contract.sources,
            dependencies=[d.model_dump() for d in contract.dependencies],
            sla_warn_after_hours=contract.sla.warn_after_hours, allow_empty=contract.allow_empty or None,
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


def _customs(node: dict) -> dict:
    return {p["property"].removeprefix("mesh."): p["value"] for p in node.get("customProperties") or []
            if p["property"].startswith("mesh.")}


def _rule(column: str, check: dict) -> dict:
    base = {"column": column, "severity": "critical" if check.get("severity") == "error" else "warning"}
    metric = check.get("metric")
    if metric == "nullValues":
        return base | {"rule": "not_null", "threshold": round(1 - check["mustBeLessOrEqualTo"] / 100, 10)}
    if metric == "duplicateValues":
        return base | {"rule": "unique"}
    if metric == "invalidValues":
        return base | {"rule": "allowed_values", "values": check["arguments"]["validValues"]}
    custom = _customs(check)
    if custom.get("rule") in {"min", "max"} and "bound" in custom:  # a date bound
        return base | {"rule": custom["rule"], "value": custom["bound"]}
    if "mustBeGreaterOrEqualTo" in check:
        return base | {"rule": "min", "value": check["mustBeGreaterOrEqualTo"]}
    if "mustBeLessOrEqualTo" in check:
        return base | {"rule": "max", "value": check["mustBeLessOrEqualTo"]}
    raise ContractError(f"quality check {check.get('name')!r} on {column} has no equivalent contract rule")


def _min_rows(table: dict, source: str) -> int | None:
    """The table's rowCount metric: >= 1 is the default (refuse an empty build), more is min_rows."""
    for check in table.get("quality") or []:
        if check.get("metric") != "rowCount":
            raise ContractError(f"{source}: schema[0].quality: table check {check.get('name')!r} has no "
                                "equivalent contract field; only rowCount (min_rows) is supported")
        if "mustBeGreaterOrEqualTo" not in check:
            raise ContractError(f"{source}: schema[0].quality: rowCount needs mustBeGreaterOrEqualTo (min_rows)")
        explicit = _customs(check).get("min_rows")
        if explicit is not None:
            return int(explicit)
        minimum = int(check["mustBeGreaterOrEqualTo"])
        return minimum if minimum > 1 else None
    return None


def from_odcs(document: dict, source: str) -> Contract:
    errors = odcs_schema_errors(document)
    if errors:
        raise ContractError("\n".join(f"{source}: {e}" for e in errors))
    if len(document.get("schema") or []) != 1:
        raise ContractError(f"{source}: schema: a data product contract describes exactly one table")
    table, extra = document["schema"][0], _customs(document)
    columns, quality, masking = [], [], {}
    properties = table.get("properties") or []
    for prop in properties:
        custom = _customs(prop)
        columns.append({"name": prop["name"], "type": prop.get("physicalType") or prop["logicalType"],
                        "nullable": not prop.get("required", False), "description": prop.get("description", ""),
                        "pii": bool(custom.get("pii")), "classification": prop.get("classification", "internal")})
        quality += [(_customs(check).get("order", 0), _rule(prop["name"], check)) for check in prop.get("quality") or []]
        if "masking" in custom:
            masking[prop["name"]] = custom["masking"]
    keys = sorted((p for p in properties if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition", 0))
    min_rows = _min_rows(table, source)
    roles = [r for r in document.get("roles") or [] if r["role"].startswith("consumer:")]
    sla = {p["property"]: p["value"] for p in document.get("slaProperties") or []}
    data = {
        "name": document.get("name") or table["name"], "domain": document.get("domain"),
        "version": document["version"], "owner": (document.get("team") or {}).get("name"),
        "description": (document.get("description") or {}).get("purpose", ""),
        "kind": extra.get("kind", "aggregate"), "tags": document.get("tags") or [],
        "primary_key": [p["name"] for p in keys], "sources": extra.get("sources", []),
        "dependencies": extra.get("dependencies", []), "refresh": extra.get("refresh", "on_upstream_change"),
        "sla": {"freshness_hours": sla.get("freshness"), "warn_after_hours": extra.get("sla_warn_after_hours")},
        "schema": columns, "quality": [rule for _, rule in sorted(quality, key=lambda item: item[0])],
        "min_rows": min_rows, "allow_empty": bool(extra.get("allow_empty")),
        "access": {"consumers": [r["role"].removeprefix("consumer:") for r in roles], "masking": masking,
                   "row_filters": {r["role"].removeprefix("consumer:"): _customs(r)["row_filter"]
                                   for r in roles if "row_filter" in _customs(r)}},
    }
    if "sunset" in extra:
        data["deprecation"] = {k: extra[k] for k in ("sunset", "successor", "note") if k in extra}
    return parse_contract(data, source)
