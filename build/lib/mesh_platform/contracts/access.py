"""The access part of a contract: who may read a product, what they see masked, which rows they see.

Validated when the contract loads, so that a bad predicate or a masking rule that cannot apply is a
contract error naming the field, never a surprise at read time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from mesh_platform.contracts.row_filters import filter_problem

MaskingRule = Literal["partial_mask", "hash", "redact", "null"]
# Rules that replace a value by text: the masked column must be text already, so that a consumer's
# schema does not change with its access level.
TEXT_RULES = {"partial_mask", "hash", "redact"}


class AccessPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consumers: list[str] = []
    masking: dict[str, MaskingRule] = {}
    row_filters: dict[str, str] = {}


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
        problem = filter_problem(predicate, columns)
        if problem:
            problems.append(f"{field}: {predicate!r} {problem}")
    return problems
