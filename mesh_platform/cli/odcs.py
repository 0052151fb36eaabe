"""`mesh export` / `mesh import`: contracts as Open Data Contract Standard (ODCS v3) documents."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from mesh_platform.cli.output import fail
from mesh_platform.contracts import ContractError
from mesh_platform.contracts.odcs import from_odcs, odcs_schema_errors, to_odcs
from mesh_platform.contracts.yaml_text import YamlFileError, read_yaml_file
from mesh_platform.mesh import all_contracts
from mesh_platform.mesh import domains_dir as mesh_domains_dir

console = Console()


def _odcs_only(fmt: str) -> None:
    if fmt != "odcs":
        raise fail(f"--format {fmt!r} is not supported; use odcs")


def export_command(
    fmt: str = typer.Option("odcs", "--format", "-f", help="odcs (Open Data Contract Standard v3)."),
    out: Path = typer.Option(Path("odcs"), "--out", "-o", help="Folder for the documents."),
    product: list[str] = typer.Option([], "--product", "-p", help="Only these DOMAIN.PRODUCT (repeatable)."),
    lake: Path | None = typer.Option(None, "--lake", help="Lake the `servers:` entries point at (default: the mesh's)."),
) -> None:
    """Write each contract as an ODCS v3 YAML document, validated against the standard's schema."""
    _odcs_only(fmt)
    contracts = all_contracts()
    unknown = sorted(set(product) - set(contracts))
    if unknown:
        raise fail(f"not products of the mesh: {', '.join(unknown)}")
    out.mkdir(parents=True, exist_ok=True)
    for key in product or sorted(contracts):
        document = to_odcs(contracts[key], lake_root=lake)
        errors = odcs_schema_errors(document)
        if errors:  # a mapping bug, never the user's: say so rather than write an invalid document
            raise fail(f"{key}: the ODCS document does not validate: {errors[0]}")
        (out / f"{key}.odcs.yaml").write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    console.print(f"wrote {len(product or contracts)} ODCS documents to {out}/")


def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An ODCS v3 YAML document."),
    fmt: str = typer.Option("odcs", "--format", "-f", help="odcs (Open Data Contract Standard v3)."),
    domains_dir: Path | None = typer.Option(None, "--domains-dir",
                                            help="Folder holding the domain folders (default: the mesh's)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing contract file."),
) -> None:
    """Create a contract file from an ODCS document (the product still needs its transform)."""
    domains_dir = domains_dir or mesh_domains_dir()
    _odcs_only(fmt)
    try:
        contract = from_odcs(read_yaml_file(file), str(file))
    except (ContractError, YamlFileError) as exc:
        raise fail(str(exc)) from None
    target = domains_dir / contract.domain / "contracts" / contract.file_name
    if target.exists() and not force:
        raise fail(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(contract.model_dump(by_alias=True, mode="json", exclude_defaults=True),
                                     sort_keys=False, allow_unicode=True, width=120))
    console.print(f"wrote {target}; add `def {contract.asset_name}(ctx)` to domains/{contract.domain}/transforms.py")
