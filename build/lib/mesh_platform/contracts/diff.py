"""What changed between two revisions of a contract, and whether consumers can absorb it.

Breaking changes need a new major version; any schema change needs at least a new minor version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from mesh_platform.contracts.model import Column, Contract
from mesh_platform.contracts.types import DECIMAL

CLASSIFICATION_RANK = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}
# Type changes every reader of the old type still reads (Spark upcasts them).
WIDENINGS = {("int", "bigint"), ("float", "double"), ("int", "double"), ("date", "timestamp")}


@dataclass(frozen=True)
class Change:
    field: str
    kind: str  # short, stable name, e.g. column_removed
    breaking: bool
    schema: bool  # changes the published table's schema
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def _widens(old: str, new: str) -> bool:
    if (old, new) in WIDENINGS:
        return True
    a, b = DECIMAL.match(old), DECIMAL.match(new)
    if a and b:  # more digits on both sides of the point: every old value still fits exactly
        (p1, s1), (p2, s2) = (map(int, a.groups())), (map(int, b.groups()))
        return s2 >= s1 and p2 - s2 >= p1 - s1
    return False


def _column_changes(old: Column, new: Column, where: str) -> Iterator[Change]:
    if old.type != new.type:
        wider = _widens(old.type, new.type)
        yield Change(f"{where}.type", "type_widened" if wider else "type_changed", not wider, True,
                     f"{old.name}: {old.type} -> {new.type}")
    if old.nullable != new.nullable:
        yield Change(f"{where}.nullable", "made_required" if old.nullable else "made_nullable",
                     old.nullable, True, f"{old.name}: nullable {old.nullable} -> {new.nullable}")
    if old.pii != new.pii:
        detail = "no longer PII: consumers would see clear values" if old.pii else "now PII: consumers see it masked"
        yield Change(f"{where}.pii", "pii_changed", True, False, f"{old.name}: {detail}")
    if CLASSIFICATION_RANK[new.classification] < CLASSIFICATION_RANK[old.classification]:
        yield Change(f"{where}.classification", "classification_lowered", True, False,
                     f"{old.name}: {old.classification} -> {new.classification}")
    elif new.classification != old.classification:
        yield Change(f"{where}.classification", "classification_raised", False, False,
                     f"{old.name}: {old.classification} -> {new.classification}")
    if old.description != new.description:
        yield Change(f"{where}.description", "description", False, False, old.name)


def _schema_changes(old: Contract, new: Contract) -> Iterator[Change]:
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    removed = [n for n in before if n not in after]
    added = [n for n in after if n not in before]
    for name in removed:
        renamed = next((a for a in added if after[a].type == before[name].type), None)
        hint = f" (renamed to {renamed}?)" if renamed else ""
        yield Change(f"schema.{name}", "column_removed", True, True, f"{name} removed{hint}")
    for name in added:
        column = after[name]
        yield Change(f"schema.{name}", "column_added" if column.nullable else "required_column_added",
                     not column.nullable, True, f"{name} {column.type} added{'' if column.nullable else ' as required'}")
    for name in before.keys() & after.keys():
        yield from _column_changes(before[name], after[name], f"schema.{name}")


def _rule_key(rule) -> tuple[str, str]:
    return rule.rule, rule.column


def _rule_tightened(old, new) -> bool | None:
    """True if `new` rejects more data than `old`, False if less, None if equal."""
    if old.severity != new.severity:
        return new.severity == "critical"
    if old.rule in {"min", "max"} and old.value != new.value:
        was, now = _bound_order(old), _bound_order(new)
        if was[0] != now[0]:  # a fixed date against one relative to the run: may reject more, assume it does
            return True
        return now > was if old.rule == "min" else now < was
    if old.rule == "not_null" and old.threshold != new.threshold:
        return new.threshold > old.threshold
    if old.rule == "allowed_values" and set(old.values) != set(new.values):
        return not set(new.values) >= set(old.values)
    return None


def _bound_order(rule) -> tuple:
    bound = rule.date_bound
    return (0, rule.value) if bound is None else bound.order_key()


def _least_rows(contract: Contract) -> int:
    return contract.min_rows or (0 if contract.allow_empty else 1)


def _rows_text(least: int) -> str:
    return {0: "may be empty", 1: "not empty"}.get(least, f"at least {least} rows")


def _constraint_changes(old: Contract, new: Contract) -> Iterator[Change]:
    before = {_rule_key(r): r for r in old.quality}
    after = {_rule_key(r): r for r in new.quality}
    for key in after.keys() - before.keys():
        yield Change(f"quality.{key[0]}.{key[1]}", "constraint_added", after[key].severity == "critical", False,
                     f"{key[0]} on {key[1]} added ({after[key].severity})")
    for key in before.keys() - after.keys():
        yield Change(f"quality.{key[0]}.{key[1]}", "constraint_removed", False, False, f"{key[0]} on {key[1]} removed")
    for key in before.keys() & after.keys():
        tightened = _rule_tightened(before[key], after[key])
        if tightened is not None:
            values = (f": {before[key].value} -> {after[key].value}"
                      if key[0] in {"min", "max"} and before[key].value != after[key].value else "")
            yield Change(f"quality.{key[0]}.{key[1]}", "constraint_tightened" if tightened else "constraint_loosened",
                         tightened, False, f"{key[0]} on {key[1]}{values}")
    was, now = _least_rows(old), _least_rows(new)
    if was != now:  # an empty build refused or allowed, or another minimum row count
        yield Change("min_rows", "constraint_tightened" if now > was else "constraint_loosened", now > was, False,
                     f"{_rows_text(was)} -> {_rows_text(now)}")
    if old.primary_key != new.primary_key:
        yield Change("primary_key", "primary_key_changed", True, False, f"{old.primary_key} -> {new.primary_key}")
    if new.sla.freshness_hours != old.sla.freshness_hours:
        looser = new.sla.freshness_hours > old.sla.freshness_hours
        yield Change("sla.freshness_hours", "sla_loosened" if looser else "sla_tightened", looser, False,
                     f"{old.sla.freshness_hours:g} h -> {new.sla.freshness_hours:g} h")


def _access_changes(old: Contract, new: Contract) -> Iterator[Change]:
    for consumer in sorted(set(old.access.consumers) - set(new.access.consumers)):
        yield Change("access.consumers", "consumer_removed", True, False, f"{consumer} may no longer read")
    for consumer in sorted(set(new.access.consumers) - set(old.access.consumers)):
        yield Change("access.consumers", "consumer_added", False, False, f"{consumer} may read")
    for column in sorted(set(old.access.masking) | set(new.access.masking)):
        was, now = old.access.masking.get(column), new.access.masking.get(column)
        if was != now:
            yield Change(f"access.masking.{column}", "masking_changed", True, False, f"{was} -> {now}")
    for consumer in sorted(set(old.access.row_filters) | set(new.access.row_filters)):
        was, now = old.access.row_filters.get(consumer), new.access.row_filters.get(consumer)
        if was != now:  # a consumer may see other rows than before
            yield Change(f"access.row_filters.{consumer}", "row_filter_changed", now is not None, False,
                         f"{was!r} -> {now!r}")


def diff(old: Contract, new: Contract) -> list[Change]:
    changes = [*_schema_changes(old, new), *_constraint_changes(old, new), *_access_changes(old, new)]
    if old.description != new.description:
        changes.append(Change("description", "description", False, False, "product description"))
    return changes


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("."))
    return major, minor, patch


def version_problems(old: Contract, new: Contract, changes: list[Change]) -> list[str]:
    """What is wrong with `new.version` given the changes since `old`; empty when it fits."""
    was, now = _semver(old.version), _semver(new.version)
    if now < was:
        return [f"version {new.version} is lower than the previous {old.version}"]
    breaking = [c for c in changes if c.breaking]
    if breaking and now[0] <= was[0]:
        kinds = ", ".join(sorted({c.kind for c in breaking}))
        return [f"breaking changes ({kinds}) need a major version: {old.version} -> {was[0] + 1}.0.0"]
    if any(c.schema for c in changes) and now[:2] <= was[:2]:
        return [f"schema changes need at least a minor version: {old.version} -> {was[0]}.{was[1] + 1}.0"]
    return []
