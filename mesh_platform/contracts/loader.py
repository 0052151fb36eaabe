"""Load contracts from YAML with errors that name the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.yaml_text import YamlFileError, read_yaml_file, yaml_from_text


class ContractError(ValueError):
    """A contract file that cannot be used; the message is meant to be read by its author."""


def _field_path(location: tuple) -> str:
    # pydantic locations mix field names, list indexes and union tags: keep what a YAML author sees.
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in {"not_null", "unique", "min", "max", "allowed_values", "by_time", "by_values"} and parts:
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _explain(error: dict) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a contract field (check its spelling and indentation)"
    if kind == "union_tag_invalid":
        return (
            f"rule {error['input'].get('rule')!r} is unknown; expected one of "
            "not_null, unique, min, max, allowed_values"
        )
    if kind == "union_tag_not_found":
        return "needs a 'rule' key (not_null, unique, min, max or allowed_values)"
    return message.removeprefix("Value error, ")


def parse_contract(data: object, source: str) -> Contract:
    if not isinstance(data, dict):
        raise ContractError(f"{source}: expected a mapping of contract fields at the top level")
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if error["loc"]:
                lines.append(f"{source}: {_field_path(error['loc'])}: {_explain(error)}")
            else:  # whole-contract checks: each line of the message names its own field
                lines += [f"{source}: {line}" for line in _explain(error).splitlines()]
        raise ContractError("\n".join(lines)) from None


# Valid contracts by (path, mtime, size): lint, code locations and consumers read the same files many
# times in one process; an edited file has a new mtime or size and is parsed again. Contracts are frozen.
_PARSED: dict[tuple[str, int, int], Contract] = {}


def parse_contract_text(text: str, source: str) -> Contract:
    """A contract from YAML text that is not a file of the mesh (a git revision, a tool's output)."""
    try:
        data = yaml_from_text(text, source)
    except YamlFileError as exc:
        raise ContractError(str(exc)) from None
    return parse_contract(data, source)


def load_contract(path: Path) -> Contract:
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = _parse_file(path)
    return _PARSED[key]


def _parse_file(path: Path) -> Contract:
    try:
        data = read_yaml_file(path)
    except YamlFileError as exc:
        raise ContractError(str(exc)) from None
    contract = parse_contract(data, str(path))
    if contract.file_name != path.name:
        if contract.name != path.name.split(".", 1)[0]:
            raise ContractError(f"{path}: name: {contract.name!r} must match the file name {path.stem!r}")
        if path.name == f"{contract.name}.yaml":
            raise ContractError(
                f"{path}: deprecation.successor: the current contract of {contract.name} cannot be superseded; "
                f"keep the superseded major in {contract.file_name} and the successor in {path.name}"
            )
        raise ContractError(
            f"{path}: deprecation: {path.name} is for a major of {contract.name} superseded by a newer one: "
            f"give it that major's version and `deprecation: {{sunset: YYYY-MM-DD, successor: "
            f"{contract.domain}.{contract.name}_vN}}` (as written, it belongs in {contract.file_name})"
        )
    if contract.domain != path.parent.parent.name:
        raise ContractError(
            f"{path}: domain: {contract.domain!r} must match the domain folder {path.parent.parent.name!r}"
        )
    return contract


def load_domain_contracts(domain_dir: Path) -> list[Contract]:
    """Every contract of one domain, sorted by product name."""
    return [load_contract(p) for p in sorted((Path(domain_dir) / "contracts").glob("*.yaml"))]
