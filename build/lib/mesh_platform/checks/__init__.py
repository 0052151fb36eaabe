from mesh_platform.checks.evaluate import CheckOutcome, ContractReport, evaluate_contract, pandera_schema
from mesh_platform.checks.names import (
    GOVERNANCE_CHECK,
    NULLABILITY_CHECK,
    PRIMARY_KEY_CHECK,
    SCHEMA_CHECK,
    UPSTREAM_CHECK,
    rule_check_name,
)
from mesh_platform.checks.specs import check_specs, contract_checks

__all__ = [
    "GOVERNANCE_CHECK",
    "NULLABILITY_CHECK",
    "PRIMARY_KEY_CHECK",
    "SCHEMA_CHECK",
    "UPSTREAM_CHECK",
    "CheckOutcome",
    "ContractReport",
    "check_specs",
    "contract_checks",
    "evaluate_contract",
    "pandera_schema",
    "rule_check_name",
]
