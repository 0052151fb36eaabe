from mesh_platform.contracts.loader import ContractError, load_contract, load_domain_contracts
from mesh_platform.contracts.model import AUDIT_COLUMNS, Column, Contract, Dependency

__all__ = [
    "AUDIT_COLUMNS",
    "Column",
    "Contract",
    "ContractError",
    "Dependency",
    "load_contract",
    "load_domain_contracts",
]
