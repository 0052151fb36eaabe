"""Releasing a new major version of a product next to the current one (`mesh release`).

The current contract moves to `<name>.v<major>.yaml`, deprecated until the sunset date and naming its
successor; `<name>.yaml` becomes the next major (same content, to be edited for the breaking change).
Both are built side by side until the sunset, each into its own table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mesh_platform.contracts.edit import edit_contract
from mesh_platform.contracts.lifecycle import today
from mesh_platform.contracts.loader import ContractError, load_contract


@dataclass(frozen=True)
class Release:
    previous_file: Path  # the superseded major, deprecated
    current_file: Path  # the new major
    previous: str  # domain.product of the superseded major's table
    successor: str  # domain.product of the new major's table
    transform: str  # the function the new major needs in the domain's transforms


def release_major(contract_file: Path, sunset: date, note: str = "") -> Release:
    """Writes both files, or raises ContractError and writes nothing."""
    contract_file = Path(contract_file)
    contract = load_contract(contract_file)
    if contract_file.name != f"{contract.name}.yaml":
        raise ContractError(f"{contract_file}: release from the current contract, {contract.name}.yaml")
    if sunset <= today():
        raise ContractError(f"--sunset {sunset}: the sunset must be after today ({today()}), so consumers get time to move")
    major = contract.major + 1
    successor = f"{contract.domain}.{contract.name}_v{major}"
    text = contract_file.read_text()

    def deprecate(data: dict) -> None:
        data["deprecation"] = {"sunset": sunset.isoformat(), "successor": successor, **({"note": note} if note else {})}

    def bump(data: dict) -> None:
        data["version"] = f"{major}.0.0"

    superseded = contract_file.with_name(f"{contract.name}.v{contract.major}.yaml")
    previous_text, previous = edit_contract(text, deprecate, str(superseded))
    current_text, current = edit_contract(text, bump, str(contract_file))
    previous_file = contract_file.with_name(previous.file_name)
    if previous_file.exists():
        raise ContractError(f"{previous_file} exists: major {contract.major} was already superseded")
    previous_file.write_text(previous_text)
    contract_file.write_text(current_text)
    return Release(previous_file, contract_file, previous.key, current.key, current.asset_name)
