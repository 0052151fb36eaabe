"""A domain's Definitions from its contracts and transforms: what a domain's definitions.py calls."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from dagster import Definitions, in_process_executor

from mesh_platform.contracts import ContractError, load_domain_contracts
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.resources import platform_resources


def domain_definitions(domain_dir: Path, transforms: ModuleType) -> Definitions:
    domain_dir = Path(domain_dir)
    contracts = load_domain_contracts(domain_dir)
    if not contracts:
        raise ContractError(f"{domain_dir / 'contracts'}: no contracts found (expected <product>.yaml files)")
    products = []
    for contract in contracts:
        transform = getattr(transforms, contract.name, None)
        if not callable(transform):
            raise ContractError(
                f"{domain_dir / 'contracts' / (contract.name + '.yaml')}: no transform for this product; "
                f"define `def {contract.name}(ctx: BuildContext) -> DataFrame` in {transforms.__name__}"
            )
        products.append(product_asset(contract, transform))
    owner = contracts[0].owner
    sources = sorted({t for c in contracts for t in c.sources})
    return Definitions(
        assets=[*(bronze_spec(domain_dir.name, t, owner) for t in sources), *products],
        resources=platform_resources(),
        # One process and one Spark session for the whole run: no JVM start per asset step.
        executor=in_process_executor,
    )
