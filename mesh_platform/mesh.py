"""The domains of this mesh, discovered from the `domains` package (one folder per domain)."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

import domains

from mesh_platform import settings
from mesh_platform.contracts import Contract, load_domain_contracts
from mesh_platform.sources import Source, load_domain_sources

DOMAINS_DIR = Path(domains.__file__).parent


def domain_names(root: Path = DOMAINS_DIR) -> list[str]:
    """The domain folders under `root`: those holding a contracts/ folder."""
    return sorted(p.parent.name for p in Path(root).glob("*/contracts") if p.is_dir())


def domain_module(domain: str, name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"domains.{domain}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in {f"domains.{domain}", f"domains.{domain}.{name}"}:
            return None  # a domain without that module (or outside the domains package)
        raise


@cache
def domain_contracts(domain: str) -> dict[str, Contract]:
    """The product contracts of one domain, by `domain.product` (empty for an unknown domain)."""
    folder = DOMAINS_DIR / domain
    return {c.key: c for c in load_domain_contracts(folder)} if (folder / "contracts").is_dir() else {}


def all_contracts() -> dict[str, Contract]:
    """Every product contract of the mesh, by `domain.product`."""
    return {k: c for d in domain_names() for k, c in domain_contracts(d).items()}


def domain_sources(domain: str) -> dict[str, Source]:
    """The sources a domain declares in its sources.yaml (overlaid by MESH_SOURCES_PROFILE's), by name;
    SourceError for a malformed file."""
    return _domain_sources(domain, settings.sources_profile())


@cache
def _domain_sources(domain: str, profile: str | None) -> dict[str, Source]:
    return load_domain_sources(DOMAINS_DIR / domain, profile)


def bronze_tables(domain: str) -> tuple[str, ...]:
    """The names of the sources a domain's operational systems provide (declared in its sources.yaml)."""
    return tuple(domain_sources(domain))


def contract_file(product: str, root: Path = DOMAINS_DIR) -> Path:
    """The file holding `domain.product`'s contract under `root` (majors >= 2 live in `<name>.yaml`,
    superseded ones in `<name>.v<major>.yaml`); LookupError if there is none."""
    domain = product.split(".", 1)[0]
    for contract in load_domain_contracts(Path(root) / domain) if (Path(root) / domain / "contracts").is_dir() else []:
        if contract.key == product:
            return Path(root) / domain / "contracts" / contract.file_name
    raise LookupError(f"{product} is not a product under {root}")


def find_contract(product: str) -> Contract:
    """The contract of `domain.product`; LookupError naming the known products of that domain."""
    domain = product.split(".", 1)[0]
    contracts = domain_contracts(domain)
    if product not in contracts:
        known = ", ".join(sorted(contracts)) or f"none (domains: {', '.join(domain_names())})"
        raise LookupError(f"{product} is not a product of the mesh; products of {domain}: {known}")
    return contracts[product]
