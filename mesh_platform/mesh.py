"""The domains of this mesh, discovered from the `domains` package (one folder per domain)."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

import domains

from mesh_platform.contracts import Contract, load_domain_contracts

DOMAINS_DIR = Path(domains.__file__).parent


def domain_names() -> list[str]:
    return sorted(p.parent.name for p in DOMAINS_DIR.glob("*/contracts") if p.is_dir())


def domain_module(domain: str, name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"domains.{domain}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"domains.{domain}.{name}":
            return None
        raise


@cache
def all_contracts() -> dict[str, Contract]:
    """Every product contract of the mesh, by `domain.product`."""
    return {c.key: c for d in domain_names() for c in load_domain_contracts(DOMAINS_DIR / d)}
