"""The check sequence of a product build: every check, in the order its verdict is decided.

1. Plan: the checks that read the data state their metrics (checks/metrics.py): the contract's rules,
   the governance gate's PII probe and the distribution drift band. All ride in ONE aggregation.
2. Contract checks (checks/evaluate.py): the schema (pandera, no data read), then the one pass over
   every row (which also computes and caches the persisted build, then `after_pass`), then one grouping
   per key. They own, and alone report, schema, row count, nullability, key and quality-rule failures.
3. Governance gate (governance/gate.py): the contract's lint violations, VERSION-001 against the
   contract the current Delta version was published under, and what only the gate sees on the data
   (undeclared personal data, interoperability of undeclared columns).
4. Upstream health, for a product consuming others: were they read published, fresh and passing?
5. Drift (checks/drift.py): the schema against the version this build would replace, the
   distribution against the band learned from recent publishes. Never blocking.

Critical failures among these refuse the publish (the caller raises); the others warn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from mesh_platform.checks.drift import (
    DistributionProbe,
    dated_columns,
    distribution_outcome,
    previous_rows,
    schema_outcome,
)
from mesh_platform.checks.evaluate import CheckOutcome, ContractReport, evaluate_contract
from mesh_platform.checks.names import SCHEMA_CHECK, UPSTREAM_CHECK
from mesh_platform.checks.partition_keys import with_keys_across_partitions
from mesh_platform.checks.specs import UPSTREAM_DESCRIPTION
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.revisions import PublishedTable, published_table
from mesh_platform.governance.gate import PiiProbe, governance_outcome
from mesh_platform.governance.policies import Policies
from mesh_platform.governance.versioning import version_violations
from mesh_platform.governance.violations import Violation

if TYPE_CHECKING:  # the product package imports this module
    from mesh_platform.product.upstream import UpstreamVersion


def upstream_outcome(sources: list[UpstreamVersion]) -> CheckOutcome:
    degraded = {s.product: f"{s.state}: {s.detail}" for s in sources if s.degraded}
    return CheckOutcome(
        UPSTREAM_CHECK, passed=not degraded, critical=False, description=UPSTREAM_DESCRIPTION,
        metadata={"read": [s.label for s in sources], "degraded": degraded},
    )


def published_version_violations(contract: Contract, published: PublishedTable | None, where: str) -> list[Violation]:
    """VERSION-001 against the contract the table's current version was published under."""
    if published is None:
        return []
    return version_violations(published.contract, contract, where, f"published Delta v{published.version}")


def check_build(
    df: DataFrame, contract: Contract, *, policies: Policies, static: list[Violation], where: str,
    lake_root: Path, read: list[UpstreamVersion], history: dict[str, list[float]],
    after_pass: Callable[[], None] | None = None, as_of: date | None = None, window=None,
) -> tuple[ContractReport, dict[str, float]]:
    """Every check of a persisted build, in the module's order; the report's outcomes in that order.

    `static`: the contract's lint violations; `where`: the contract's file, for them; `read`: the
    consumed products' versions; `history`: drift.metric_history of the product; `as_of`: the run's
    as-of date, for the contract's date bounds; `window`: a partitioned build's PartitionWindow (its key
    is also checked across partitions when the contract says so). Returns the report and the drift
    metrics with their bands (materialization metadata).
    """
    # 1. the metrics of the other checks that read the data, for the contract's single aggregation
    pii = PiiProbe.for_frame(df, contract, expected_rows=previous_rows(history))
    distribution = DistributionProbe.for_frame(contract, df)
    # 2. contract checks: the one pass, then the key groupings
    report = evaluate_contract(df, contract, [*pii.metrics(), *distribution.metrics()], after_pass, as_of)
    if window is not None and contract.partitioning.key_unique_across_partitions and contract.primary_key:
        report.outcomes = [with_keys_across_partitions(o, df, contract, lake_root, window) for o in report.outcomes]
    # 3. governance gate
    published = published_table(lake_root, contract)  # the version this build would replace
    static = static + published_version_violations(contract, published, where)
    report.outcomes.append(governance_outcome(df, contract, report.metrics, pii, policies, static))
    # 4. upstream health
    if contract.dependencies:
        report.outcomes.append(upstream_outcome(read))
    # 5. drift
    observed = distribution.observed(report.metrics, report.row_count)
    drifted, bands = distribution_outcome(observed, history, dated_columns(contract))
    contract_drift = report.outcome(SCHEMA_CHECK).metadata
    report.outcomes += [schema_outcome(df, contract, published, contract_drift), drifted]
    return report, {**observed, **bands}
