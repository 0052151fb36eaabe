"""The access part of a contract: who may read a product, what they see masked, which rows they see.

Validated when the contract loads, so that a bad predicate or a masking rule that cannot apply is a
contract error naming the field, never a surprise at read time.
"""

from __future__ import annotations

from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp
from sqlglot.errors import SqlglotError

MaskingRule = Literal["partial_mask", "hash", "redact", "null"]
# Rules that replace a value by text: the masked column must be text already, so that a consumer's
# schema does not change with its access level.
TEXT_RULES = {"partial_mask", "hash", "redact"}


class AccessPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consumers: list[str] = []
    masking: dict[str, MaskingRule] = {}
    row_filters: dict[str, str] = {}


def _predicate_problem(predicate: str, columns: dict[str, str]) -> str | None:
    """Why `predicate` is not a row filter over `columns`, or None if it is one."""
    try:
        statements = [s for s in sqlglot.parse(predicate, read="spark") if s is not None]
    except SqlglotError as exc:
        return f"is not valid Spark SQL ({str(exc).splitlines()[0]})"
    if len(statements) != 1:
        return "must be one SQL predicate, not several statements"
    tree = statements[0]
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Literal):
        return "must be a condition over the product's columns, e.g. region_name = 'EUROPE'"
    if tree.find(exp.Select, exp.Subquery):
        return "must not contain a subquery: a row filter sees one row at a time"
    if tree.find(exp.AggFunc, exp.Window):
        return "must not aggregate or use a window: a row filter sees one row at a time"
    unknown = sorted({c.name for c in tree.find_all(exp.Column)} - set(columns))
    if unknown:
        return f"names columns not in the product: {', '.join(unknown)}"
    return None


def access_problems(policy: AccessPolicy, domain: str, columns: dict[str, str]) -> list[str]:
    """`columns`: the published columns and their types. Each problem starts with its field."""
    problems = []
    for name, rule in policy.masking.items():
        if name not in columns:
            problems.append(f"access.masking.{name}: names a column not in the schema")
        elif rule in TEXT_RULES and columns[name] != "string":
            problems.append(
                f"access.masking.{name}: {rule} applies to string columns and {name} is {columns[name]}; "
                "use null, or mask a string column"
            )
    if domain in policy.consumers:
        problems.append(f"access.consumers: {domain} owns the product; list only other domains")
    for consumer, predicate in policy.row_filters.items():
        field = f"access.row_filters.{consumer}"
        if consumer not in policy.consumers:
            problems.append(f"{field}: {consumer} is not in access.consumers; add it there or drop the filter")
        problem = _predicate_problem(predicate, columns)
        if problem:
            problems.append(f"{field}: {predicate!r} {problem}")
    return problems
