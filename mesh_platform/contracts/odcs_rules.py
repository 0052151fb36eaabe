"""Reading a foreign ODCS v3 document's quality checks and SLA into contract fields.

Every metric (nullValues, missingValues, invalidValues, duplicateValues, rowCount), operator (mustBe,
mustNotBe, mustBe[Greater|Less]Than, mustBe[Greater|Less]OrEqualTo, mustBe[Not]Between) and check type
(library, sql, text, custom) the standard defines is either mapped to a contract rule or refused with one
line naming the file, the check and why; a contract only enforces what it can state exactly.
"""

from __future__ import annotations

import re

from mesh_platform.contracts.loader import ContractError

OPERATORS = ("mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
             "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween")
# `SELECT MIN(col) FROM ${object}`: the shape the export writes for a numeric min/max rule
_MIN_MAX_QUERY = re.compile(r"^\s*select\s+(min|max)\s*\(\s*(\w+)\s*\)\s+from\s+\$\{(?:object|table)\}\s*;?\s*$", re.I)


def mesh_customs(node: dict) -> dict:
    """The `mesh.*` custom properties of a node, without the prefix."""
    return {p["property"].removeprefix("mesh."): p["value"] for p in node.get("customProperties") or []
            if p["property"].startswith("mesh.")}


class Refused(Exception):
    """A check with no exact contract equivalent; the message says why and what to write instead."""


def _operator(check: dict) -> tuple[str, object]:
    found = [(op, check[op]) for op in OPERATORS if op in check]
    if len(found) != 1:
        raise Refused(f"needs exactly one operator ({', '.join(OPERATORS)}), found {len(found)}")
    return found[0]


def _describe(check: dict) -> str:
    kind = f"metric {check['metric']}" if "metric" in check else f"type {check.get('type', 'library')}"
    ops = ", ".join(f"{op} {check[op]!r}" for op in OPERATORS if op in check)
    name = f"{check['name']!r} " if check.get("name") else ""
    return f"check {name}({kind}{', ' + ops if ops else ''})"


def _at_most_zero(check: dict, what: str) -> None:
    """The count (rows or percent) of `what` must be 0: mustBe 0, <= 0, < 1 row, between [0, 0]."""
    op, value = _operator(check)
    percent = check.get("unit") == "percent"
    if (op == "mustBe" and value == 0) or (op == "mustBeLessOrEqualTo" and value == 0) \
            or (op == "mustBeLessThan" and not percent and value == 1) \
            or (op == "mustBeBetween" and list(value) == [0, 0]):
        return
    raise Refused(f"the contract can only require no {what} at all; write mustBe: 0")


def _not_null(base: dict, check: dict) -> dict:
    """nullValues: none at all, or (unit percent) at most X% of rows, i.e. threshold 1 - X/100."""
    op, value = _operator(check)
    if check.get("unit") == "percent" and (op == "mustBeLessOrEqualTo" or (op == "mustBeBetween" and value[0] == 0)):
        cap = value if op == "mustBeLessOrEqualTo" else value[1]
        if cap >= 100:
            raise Refused("a cap of 100 percent nulls checks nothing; drop the check")
        return base | {"rule": "not_null", "threshold": round(1 - cap / 100, 10)}
    try:
        _at_most_zero(check, "nulls")
    except Refused:
        raise Refused("not_null caps the share of nulls: write mustBe: 0, or unit: percent with "
                      "mustBeLessOrEqualTo: X") from None
    return base | {"rule": "not_null"}


def _library(base: dict, check: dict) -> dict:
    metric = check["metric"]
    arguments = check.get("arguments") or {}
    if metric == "nullValues":
        return _not_null(base, check)
    if metric == "missingValues":
        extra = [v for v in arguments.get("missingValues") or [] if v is not None]
        if extra:
            raise Refused(f"the contract has no rule for values counted as missing besides null ({extra!r}); "
                          "use invalidValues with validValues, or nullValues")
        return _not_null(base, check)
    if metric == "duplicateValues":
        _at_most_zero(check, "duplicates")
        return base | {"rule": "unique"}
    if metric == "invalidValues":
        unknown = sorted(set(arguments) - {"validValues"})
        if unknown or "validValues" not in arguments:
            raise Refused(f"only arguments.validValues maps to allowed_values (got {', '.join(unknown) or 'none'}); "
                          "a pattern or other validity rule has no contract equivalent")
        if not isinstance(arguments["validValues"], list) or not arguments["validValues"]:
            raise Refused("arguments.validValues must be a non-empty list of the allowed values")
        _at_most_zero(check, "invalid values")
        return base | {"rule": "allowed_values", "values": arguments["validValues"]}
    if metric == "rowCount":
        raise Refused("rowCount counts a table's rows; put it in schema[0].quality, not on a column")
    raise Refused(f"metric {metric!r} is not one ODCS defines")


def _sql(base: dict, check: dict) -> dict:
    match = _MIN_MAX_QUERY.match(check["query"])
    if not match or match.group(2) != base["column"]:
        raise Refused(f"only `SELECT MIN({base['column']}) FROM ${{object}}` (or MAX) maps to a contract rule; "
                      "other SQL has no equivalent")
    function, (op, value) = match.group(1).lower(), _operator(check)
    wanted = "mustBeGreaterOrEqualTo" if function == "min" else "mustBeLessOrEqualTo"
    if op != wanted:
        raise Refused(f"{function.upper()}() maps to the contract's inclusive {function} rule only with {wanted}")
    return base | {"rule": function, "value": value}


def column_rule(column: str, check: dict, custom: dict) -> dict:
    """The contract rule of one column-level check; `custom`: its `mesh.*` custom properties."""
    # no severity is the contract's default (critical); info and warning only warn
    base = {"column": column, "severity": "warning" if check.get("severity") in {"info", "warning"} else "critical"}
    if custom.get("rule") in {"min", "max"} and "bound" in custom:  # a date bound this platform exported
        return base | {"rule": custom["rule"], "value": custom["bound"]}
    kind = check.get("type", "library")
    if kind == "text":
        raise Refused("a text check is prose the platform cannot enforce; move it into the description")
    if kind == "custom":
        raise Refused(f"a custom check runs on engine {check.get('engine')!r}, which the platform does not run")
    if kind == "sql":
        return _sql(base, check)
    if "metric" not in check:
        raise Refused(f"library check without a metric (deprecated rule {check.get('rule')!r}?); "
                      "write metric: nullValues, missingValues, invalidValues, duplicateValues or rowCount")
    return _library(base, check)


def quality_rules(column: str, checks: list[dict], where: str, source: str) -> list[tuple[int, dict]]:
    """(export order, rule) for each check of a column; a check without equivalent is a ContractError."""
    rules = []
    for i, check in enumerate(checks):
        try:
            rules.append((mesh_customs(check).get("order", 0), column_rule(column, check, mesh_customs(check))))
        except Refused as exc:
            raise ContractError(f"{source}: {where}.quality[{i}]: {_describe(check)} on {column} has no "
                                f"equivalent contract rule: {exc}") from None
    return rules


def min_rows(check: dict, source: str) -> tuple[int | None, bool]:
    """(min_rows, allow_empty) of a table-level rowCount check."""
    where = f"{source}: schema[0].quality: {_describe(check)}"
    try:
        op, value = _operator(check)
    except Refused as exc:
        raise ContractError(f"{where}: {exc}") from None
    if op == "mustBeGreaterThan":
        minimum = int(value) + 1
    elif op == "mustBeGreaterOrEqualTo":
        minimum = int(value)
    else:
        raise ContractError(f"{where}: the contract only sets a minimum row count (min_rows); "
                            "write mustBeGreaterOrEqualTo: N")
    if minimum <= 0:
        return None, True
    return (minimum if minimum > 1 else None), False


# hours per unit; ODCS writes SLA units the ISO way (d, y, ...), spelled out or abbreviated
_HOURS = {1 / 60: ("min", "mins", "minute", "minutes"), 1: ("h", "hr", "hrs", "hour", "hours"),
          24: ("d", "day", "days"), 168: ("w", "wk", "week", "weeks"), 720: ("mo", "mon", "month", "months"),
          8760: ("y", "yr", "yrs", "year", "years")}
UNIT_HOURS = {name: hours for hours, names in _HOURS.items() for name in names}
_ISO_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
                           r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def sla_hours(entry: dict, where: str) -> float:
    """An SLA value in hours: a number with its unit (`1` `d` is 24), or an ISO-8601 duration (`P1D`)."""
    value, unit = entry.get("value"), entry.get("unit")
    if isinstance(value, str) and (match := _ISO_DURATION.match(value.strip().upper())) and value.strip() != "P":
        years, months, weeks, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
        return round(years * 8760 + months * 720 + weeks * 168 + days * 24 + hours + minutes / 60
                     + seconds / 3600, 6)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContractError(f"{where}.value: {value!r} is neither a number nor an ISO-8601 duration such as PT4H")
    if unit is None:
        raise ContractError(f"{where}.unit: missing; write the unit of {value} (h, d, w, y, ...)")
    key = unit.strip().lower()
    if key == "m":  # ISO 8601 reads M as months in a date and minutes in a time: a guess could be 43200x off
        raise ContractError(f"{where}.unit: 'm' is ambiguous (month or minute); write 'mo' or 'min'")
    if key not in UNIT_HOURS:
        raise ContractError(f"{where}.unit: {unit!r} is not a time unit; use one of {', '.join(UNIT_HOURS)}")
    return round(value * UNIT_HOURS[key], 6)
