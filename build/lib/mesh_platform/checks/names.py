"""Asset check names, in one place, so that tests, the CLI and the UI agree on them."""

from __future__ import annotations

SCHEMA_CHECK = "contract_schema"
NULLABILITY_CHECK = "contract_nullability"
PRIMARY_KEY_CHECK = "contract_primary_key"
ROW_COUNT_CHECK = "contract_row_count"
UPSTREAM_CHECK = "upstream_health"
GOVERNANCE_CHECK = "governance_report"
SCHEMA_DRIFT_CHECK = "drift_schema"
DISTRIBUTION_DRIFT_CHECK = "drift_distribution"


def rule_check_name(rule_kind: str, column: str) -> str:
    return f"{rule_kind}_{column}"
