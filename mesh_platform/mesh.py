"""The domains of the mesh in use (mesh.yaml's `domains` folder: one folder per domain)."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

from mesh_platform import settings
from mesh_platform.config import MeshConfigError, current_mesh
from mesh_platform.contracts import Contract, load_domain_contracts
from mesh_platform.sources import Source, load_domain_sources


def domains_dir() -> Path:
    """The folder of the mesh's domain folders."""
    return current_mesh().domains_dir


def domain_names(root: Path | None = None) -> list[str]:
    """The domain folders under `root` (default: the mesh's): those holding a contracts/ folder."""
    return sorted(p.parent.name for p in Path(root or domains_dir()).glob("*/contracts") if p.is_dir())


def domain_module(domain: str, name: str) -> ModuleType | None:
    """`<domains package>.<domain>.<name>` of the mesh in use; None for a domain without that module."""
    mesh = current_mesh()
    module = f"{mesh.domains_package}.{domain}.{name}"
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in {module.rsplit(".", 1)[0], module}:
            return None
        raise
    if Path(found.__file__).resolve().parent.parent != mesh.domains_dir.resolve():
        # a process holds one package of a name: another mesh's `domains` was imported first
        raise MeshConfigError(f"{module} was imported from {found.__file__}, not from the mesh at {mesh.root}: "
                              "run each mesh in a process of its own")
    return found


@cache
def domain_contracts(domain: str) -> dict[str, Contract]:
    """The product contracts of one domain, by `domain.product` (empty for an unknown domain)."""
    folder = domains_dir() / domain
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
    return load_domain_sources(domains_dir() / domain, profile)


def bronze_tables(domain: str) -> tuple[str, ...]:
    """The names of the sources a domain's operational systems provide (declared in its sources.yaml)."""
    return tuple(domain_sources(domain))


def contract_file(product: str, root: Path | None = None) -> Path:
    """The file holding `domain.product`'s contract under `root` (majors >= 2 live in `<name>.yaml`,
    superseded ones in `<name>.v<major>.yaml`); LookupError if there is none."""
    domain, root = product.split(".", 1)[0], root or domains_dir()
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
