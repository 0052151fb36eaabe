"""VERSION-001: a contract's version must say what its change does to consumers (semantic versioning).

Judged against the previous revision in git by `mesh lint --base REF`, and against the contract the
current Delta version was published under when a product publishes.
"""

from __future__ import annotations

from mesh_platform.contracts.diff import diff, version_problems
from mesh_platform.contracts.model import Contract
from mesh_platform.governance.violations import Violation

VERSION_RULE = "VERSION-001"
REMEDIATION = (
    "Bump the version as the change requires (breaking: major, schema: minor), or make the change "
    "compatible; `mesh diff` lists each change and its class."
)


def version_violations(previous: Contract | None, contract: Contract, file: str, against: str) -> list[Violation]:
    if previous is None:
        return []
    return [
        Violation(VERSION_RULE, "CRITICAL", contract.key, file, "version", f"{problem} (against {against})", REMEDIATION)
        for problem in version_problems(previous, contract, diff(previous, contract))
    ]
