"""Evaluate a contract on a DataFrame in one pass.

The structure (columns, types, no extras) is checked by pandera's PySpark backend at schema-only depth, which
reads no data. Every row-level rule and the nullability of required columns become metrics of a single
aggregation (a MetricPlan, see checks/metrics.py, that other checks add theirs to): one pass over the data for
the whole contract, however many rules it has. On a persisted DataFrame that has not been computed yet, this
pass is also the one that computes and caches it, so the rules cost little more than the build. Uniqueness
(the primary key and `unique` rules) needs a grouping: one more pass per distinct set of columns, over the
cache, which for the usual contract (a `unique` rule on its one-column key) is one. Only a failed rule costs
one more small job, to fetch a few offending keys for the person who has to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from mesh_platform.checks.metrics import (
    Extreme,
    Metric,
    MetricPlan,
    MetricValues,
    NullCount,
    RowCount,
    RuleViolations,
    resolved_bound,
)
from mesh_platform.checks.names import (
    NULLABILITY_CHECK,
    PRIMARY_KEY_CHECK,
    ROW_COUNT_CHECK,
    SCHEMA_CHECK,
    rule_check_name,
)
from mesh_platform.checks.specs import contract_checks, row_count_description
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.types import spark_type
from mesh_platform.settings import default_as_of

if TYPE_CHECKING:
    import pandera.pyspark as pa

EXAMPLE_LIMIT = 5


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    critical: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContractReport:
    row_count: int
    outcomes: list[CheckOutcome]
    metrics: MetricValues | None = None  # the aggregation's values, for callers that added metrics of their own

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.critical and not o.passed]

    def outcome(self, name: str) -> CheckOutcome:
        return next(o for o in self.outcomes if o.name == name)

    def find(self, name: str) -> CheckOutcome | None:
        """The outcome of `name`, or None for a check the contract does not have."""
        return next((o for o in self.outcomes if o.name == name), None)


def pandera_schema(
    contract: Contract, skip: frozenset[str] = frozenset(), with_nullability: bool = True
) -> pa.DataFrameSchema:
    """The contract's structure as a pandera schema (usable at full depth in a notebook, too).

    pandera's PySpark backend runs one Spark job per non-nullable column, even at schema-only depth,
    so the publish gate leaves nullability out here and counts nulls in its single aggregation.
    """
    import pandera.pyspark as pa  # ~0.9 s to import: paid by a build, not by `mesh lint` or a code location

    nullable = {c.name: c.nullable for c in contract.columns}
    return pa.DataFrameSchema(
        {
            name: pa.Column(spark_type(type_), nullable=not with_nullability or nullable.get(name, False))
            for name, type_ in contract.published_columns.items()
            if name not in skip
        },
        strict=True,
        name=contract.key,
    )


def schema_drift(df: DataFrame, contract: Contract) -> dict[str, Any]:
    """Missing, extra and retyped columns, as found by pandera (no data is read)."""
    actual = {f.name: f.dataType for f in df.schema.fields}
    drift: dict[str, Any] = {"missing": [], "extra": [], "retyped": {}}

    def retyped(column: str) -> None:
        expected = contract.published_columns[column]
        drift["retyped"][column] = f"expected {expected}, got {actual[column].simpleString()}"

    # pandera 0.35 asserts (instead of reporting) when a decimal column holds another type: report
    # those columns here and let pandera judge the rest.
    not_decimal = frozenset(
        c for c, t in contract.published_columns.items()
        if t.startswith("decimal") and c in actual and not isinstance(actual[c], DecimalType)
    )
    for column in sorted(not_decimal):
        retyped(column)
    from pandera.config import ValidationDepth, config_context

    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        checked = pandera_schema(contract, not_decimal, with_nullability=False).validate(df.drop(*not_decimal))
    for kind, items in checked.pandera.errors.get("SCHEMA", {}).items():
        for item in items:
            column = item.get("column")
            if kind == "COLUMN_NOT_IN_DATAFRAME":
                drift["missing"].append(column)
            elif kind == "WRONG_DATATYPE":
                retyped(column)
    # pandera (strict) stops at the first extra column: list them all from the schema itself
    drift["extra"] = sorted(c for c in actual if c not in contract.published_columns)
    return drift


def _plain(value: Any) -> Any:
    """A metadata value: a number as float, a date as ISO text."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else float(value)


def row_count_outcome(contract: Contract, rows: int) -> CheckOutcome:
    """Refuses an empty build unless the contract allows empty, and one below `min_rows`."""
    minimum = contract.min_rows or (0 if contract.allow_empty else 1)
    metadata: dict[str, Any] = {"rows": rows, "min_rows": minimum, "allow_empty": contract.allow_empty}
    if rows < minimum:
        metadata["error"] = (
            "the build is empty; set allow_empty: true in the contract if an empty product is normal"
            if rows == 0 and contract.min_rows is None
            else f"{rows} rows, fewer than the contract's min_rows {minimum}"
        )
    return CheckOutcome(ROW_COUNT_CHECK, rows >= minimum, True, row_count_description(contract), metadata)


def _examples(df: DataFrame, condition: SparkColumn, key: list[str], column: str) -> list[str]:
    shown = list(dict.fromkeys([*key, column]))
    rows = df.where(condition).select(*shown).limit(EXAMPLE_LIMIT).collect()
    return [", ".join(f"{c}={row[c]}" for c in shown) for row in rows]


def _duplicate_examples(df: DataFrame, columns: list[str]) -> list[str]:
    rows = (
        df.groupBy(*columns).count().where("count > 1")
        .orderBy(F.desc("count")).limit(EXAMPLE_LIMIT).collect()
    )
    return [", ".join(f"{c}={row[c]}" for c in columns) + f" ({row['count']} rows)" for row in rows]


@dataclass(frozen=True)
class Repeats:
    key_duplicates: int  # rows beyond the first of each value, and every row with a null part
    value_duplicates: int  # among rows without a null part only (a `unique` rule ignores nulls)


def _repeats(df: DataFrame, columns: list[str]) -> Repeats:
    """One grouping by `columns`: a shuffle of those columns only. Mixed into the rules' aggregation,
    a distinct count would make Spark expand every row once per distinct set (measured 2.6 s against
    0.9 + 1.1 s apart for 1.5M orders)."""
    complete = reduce(lambda a, b: a & b, [F.col(c).isNotNull() for c in columns])
    n = F.col("_rows")
    total, complete_rows, complete_groups = df.groupBy(*columns).agg(F.count(F.lit(1)).alias("_rows")).agg(
        F.sum(n), F.sum(F.when(complete, n)), F.count(F.when(complete, 1))
    ).collect()[0]
    total, complete_rows = int(total or 0), int(complete_rows or 0)
    return Repeats(total - complete_groups, complete_rows - complete_groups)


@dataclass(frozen=True)
class ContractMetrics:
    """What the contract's checks read from the aggregation: the row count, the nulls of each usable
    required column, the breaking rows of each row-level rule and the extreme each min/max rule saw."""

    rows: RowCount
    nulls: dict[str, NullCount]  # by required column
    violations: dict[str, RuleViolations]  # by rule check name
    observed: dict[str, Extreme]  # by min/max rule check name

    @classmethod
    def plan(cls, contract: Contract, unusable: set[str], as_of: date) -> ContractMetrics:
        types = contract.published_columns
        violations, observed = {}, {}
        for rule in contract.quality:
            if rule.column in unusable or rule.rule == "unique":  # unique: a grouping, not an aggregate
                continue
            name = rule_check_name(rule.rule, rule.column)
            if rule.rule not in {"min", "max"}:
                violations[name] = RuleViolations(rule)
                continue
            # a date bound on a timestamp compares the timestamp's date (as_of covers that whole day)
            as_date = rule.date_bound is not None and types[rule.column] == "timestamp"
            violations[name] = RuleViolations(rule, resolved_bound(rule, as_of), as_date)
            observed[name] = Extreme(rule.column, rule.rule, as_date)
        required = [c.name for c in contract.columns if not c.nullable and c.name not in unusable]
        return cls(RowCount(), {c: NullCount(c) for c in required}, violations, observed)

    def __iter__(self) -> Iterator[Metric]:
        yield self.rows
        yield from self.nulls.values()
        yield from self.violations.values()
        yield from self.observed.values()


def evaluate_contract(
    df: DataFrame, contract: Contract, extra_metrics: Iterable[Metric] = (),
    after_pass: Callable[[], None] | None = None, as_of: date | None = None,
) -> ContractReport:
    """Check `df` against `contract`; the caller should persist `df`, which is computed once here.

    `extra_metrics` ride in the same aggregation (the governance gate's and drift's, for two), their
    values in the report's `metrics`; `after_pass` is called once that pass is done (the build's time
    and Spark jobs end there, the checks' begin); `as_of`: the run's as-of date, which date bounds such
    as `as_of - 30 years` are resolved against (default: the configured one, settings.default_as_of).
    """
    as_of = as_of or default_as_of()
    checks = {c.name: c for c in contract_checks(contract)}
    drift = schema_drift(df, contract)  # reads no data
    unusable = set(drift["missing"]) | set(drift["retyped"])
    outcomes = [
        CheckOutcome(
            SCHEMA_CHECK,
            passed=not (drift["missing"] or drift["extra"] or drift["retyped"]),
            critical=True,
            description=checks[SCHEMA_CHECK].description,
            metadata=drift,
        )
    ]

    planned = ContractMetrics.plan(contract, unusable, as_of)
    values = MetricPlan([*planned, *extra_metrics]).compute(df)  # the one pass over every row
    if after_pass:
        after_pass()
    rows = values[planned.rows]
    key = [c for c in contract.primary_key if c not in unusable]
    groupings = {tuple(key)} if key else set()
    groupings |= {(r.column,) for r in contract.quality if r.rule == "unique" and r.column not in unusable}
    repeats = {columns: _repeats(df, list(columns)) for columns in sorted(groupings)}
    outcomes.append(row_count_outcome(contract, rows))

    if NULLABILITY_CHECK in checks:
        null_counts = {c: values[metric] for c, metric in planned.nulls.items()}
        offending = {c: n for c, n in null_counts.items() if n}
        outcomes.append(
            CheckOutcome(
                NULLABILITY_CHECK,
                passed=not offending and not (unusable & {c.name for c in contract.columns if not c.nullable}),
                critical=True,
                description=checks[NULLABILITY_CHECK].description,
                metadata={"null_counts": offending, "rows": rows},
            )
        )

    if PRIMARY_KEY_CHECK in checks:
        duplicates = repeats[tuple(key)].key_duplicates if key else None
        metadata: dict[str, Any] = {"duplicate_rows": duplicates, "rows": rows, "key": contract.primary_key}
        if duplicates:
            metadata["examples"] = _duplicate_examples(df, key)
        outcomes.append(
            CheckOutcome(PRIMARY_KEY_CHECK, duplicates == 0, True, checks[PRIMARY_KEY_CHECK].description,
                         metadata)
        )

    for rule in contract.quality:
        name = rule_check_name(rule.rule, rule.column)
        check = checks[name]
        if rule.column in unusable:
            outcomes.append(
                CheckOutcome(name, False, check.critical, check.description,
                             {"error": f"column {rule.column} is missing or has the wrong type"})
            )
            continue
        violation = planned.violations.get(name)
        failing = repeats[(rule.column,)].value_duplicates if rule.rule == "unique" else values[violation]
        metadata: dict[str, Any] = {"failing_rows": failing, "rows": rows}
        if rule.rule == "not_null":
            completeness = 1.0 if rows == 0 else (rows - failing) / rows
            passed = completeness >= rule.threshold
            metadata |= {"observed_completeness": round(completeness, 6), "threshold": rule.threshold}
        else:
            passed = failing == 0
            if rule.rule in {"min", "max"}:
                metadata |= {"observed": _plain(values[planned.observed[name]]), "threshold": _plain(violation.bound)}
                if rule.date_bound is not None and rule.date_bound.relative:
                    metadata["bound"] = rule.value  # as written, e.g. as_of - 30 years
            if rule.rule == "allowed_values":
                metadata["allowed"] = [str(v) for v in rule.values]
        if not passed and failing:
            metadata["examples"] = (
                _duplicate_examples(df.where(F.col(rule.column).isNotNull()), [rule.column])
                if rule.rule == "unique"
                else _examples(df, violation.condition(), contract.primary_key, rule.column)
            )
        outcomes.append(CheckOutcome(name, passed, check.critical, check.description, metadata))
    return ContractReport(row_count=rows, outcomes=outcomes, metrics=values)
