from mesh_platform.governance.lint import Violation, critical, lint_contract, lint_domain
from mesh_platform.governance.policies import Policies, domain_policies

__all__ = ["Policies", "Violation", "critical", "domain_policies", "lint_contract", "lint_domain"]
