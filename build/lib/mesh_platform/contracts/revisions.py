"""Earlier revisions of a contract: in git, and as recorded on its published Delta table."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable

from mesh_platform.contracts.loader import ContractError, parse_contract, parse_contract_text
from mesh_platform.contracts.model import Contract
from mesh_platform.storage.delta import TableMissing, open_table
from mesh_platform.storage.layout import product_path

# Commit metadata key holding the full contract a Delta version was published under.
CONTRACT_METADATA = "product.contract"


def contract_metadata(contract: Contract) -> dict[str, str]:
    """What each publish records in its Delta commit: the contract whole, and its main facts by name
    (delta-rs 1.6 refuses table properties outside `delta.*`, so they live in the commit)."""
    return {
        "product.domain": contract.domain,
        "product.name": contract.name,
        "product.version": contract.version,
        "product.owner": contract.owner,
        "product.kind": contract.kind,
        "product.sla.freshness.hours": f"{contract.sla.freshness_hours:g}",
        "product.consumers": ",".join(contract.access.consumers),
        CONTRACT_METADATA: json.dumps(contract.model_dump(by_alias=True, mode="json"), sort_keys=True),
    }


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)


def git_revision(path: Path, base: str) -> Contract | None:
    """The contract at `path` as of git revision `base`; None if it did not exist there.
    Raises ContractError if `base` is not a revision, or the file there does not parse."""
    path = Path(path).resolve()
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if top.returncode:
        raise ContractError(f"{path}: not in a git repository, so there is no revision {base!r} to compare with")
    if _git(path.parent, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}").returncode:
        raise ContractError(f"--base {base!r} is not a git revision (try HEAD, main or a commit id)")
    relative = path.relative_to(Path(top.stdout.strip()))
    shown = _git(path.parent, "show", f"{base}:{relative}")
    if shown.returncode:
        return None  # a new product: nothing to compare with
    return parse_contract_text(shown.stdout, f"{base}:{relative}")


@dataclass(frozen=True)
class PublishedTable:
    """A product's Delta table as currently published, opened once for everything that compares with it."""

    table: DeltaTable
    contract: Contract | None  # its current version's contract (None if written before contracts were recorded)

    @property
    def version(self) -> int:
        return self.table.version()


def published_table(lake_root: Path, contract: Contract) -> PublishedTable | None:
    """`contract`'s product table as published, or None if it was never published."""
    try:
        table = open_table(product_path(lake_root, contract.domain, contract.asset_name))
    except TableMissing:
        return None
    return PublishedTable(table, published_revision(table.history(20)))


def published_revision(history: list[dict]) -> Contract | None:
    """The contract of the newest commit in a Delta table's history that recorded one."""
    for commit in history:  # newest first
        if CONTRACT_METADATA in commit:
            return parse_contract(json.loads(commit[CONTRACT_METADATA]), f"Delta commit v{commit.get('version')}")
    return None
