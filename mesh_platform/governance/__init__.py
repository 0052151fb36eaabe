from mesh_platform.governance.lint import lint_contract, lint_domain
from mesh_platform.governance.policies import Policies, domain_policies
from mesh_platform.governance.violations import Violation, critical

__all__ = ["Policies", "Violation", "critical", "domain_policies", "lint_contract", "lint_domain"]
